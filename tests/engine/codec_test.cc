// Golden bytes: the stored encoding and the chain hash of fixed events are
// pinned, so an accidental change of the schema or of the codec fails here.
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "codec/roles.h"
#include "relais/role.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

TEST(GoldenTest, StoredBytesArePinned) {
  EngineFixture f;
  ASSERT_EQ(Import(*f.engine, Ev(1, "DwellingRegistered", "dwelling/D-RBX-001", "2015-01-05",
                                 R"({"territory":"lille","commune":"Roubaix","typology":"T3","adaptations":["ground_floor"],"rentCents":41250})",
                                 R"(,"recordedAt":"2015-01-05T09:00:00Z")"))
                .kind,
            AppendOutcome::Kind::kAccepted);
  ASSERT_EQ(Import(*f.engine, Ev(2, "HouseholdRegistered", "household/H-0001", "2015-02-02",
                                 R"({"territory":"lille","commune":"Roubaix","adults":1,"children":2,"headOfHousehold":{"name":"Exemple Un","birthDate":"1984-06-11"}})",
                                 R"(,"recordedAt":"2015-02-02T09:00:00Z","actor":{"id":"c1","role":"coordinator","org":"lille"})"))
                .kind,
            AppendOutcome::Kind::kAccepted);
  // Pinned: update only with a deliberate, documented format change.
  EXPECT_EQ(*f.engine->HashAt(1), "dadcf930beed0647ea28ff4ce6199c7db29c4b156248e4698502f4f945a8d077");
  EXPECT_EQ(*f.engine->HashAt(2), "d96f05fab1bbb788e9df890808903b71e29784c9bf8c684c98df8dcc37c148e8");
}

TEST(CodecTest, DataRoundTripsInSchemaOrder) {
  EngineFixture f;
  // Keys given in reverse order come back in the schema's order; an absent
  // optional field stays absent; personal fields come back unsealed.
  ASSERT_EQ(Import(*f.engine, Ev(1, "DwellingRegistered", "dwelling/D1", "2015-01-01",
                                 R"({"rentCents":1,"adaptations":["wheelchair","ground_floor"],"typology":"T1","commune":"Lille","territory":"lille"})"))
                .kind,
            AppendOutcome::Kind::kAccepted);
  ASSERT_EQ(Import(*f.engine, Ev(2, "HouseholdRegistered", "household/H1", "2015-01-01",
                                 R"({"headOfHousehold":{"birthDate":"1980-02-29","name":"Zoé \"Test\""},"children":0,"adults":1,"commune":"Lille","territory":"sud"})"))
                .kind,
            AppendOutcome::Kind::kAccepted);
  ASSERT_EQ(Import(*f.engine, Ev(3, "ReferralDecided", "household/H1", "2015-01-02",
                                 R"({"outcome":"accepted","referralId":"R1"})"))
                .kind,
            AppendOutcome::Kind::kRefused);  // referral_not_open: nothing stored
  auto dwelling = f.engine->ReadStreamEvents(Subject{StreamKind::kDwelling, "dwelling/D1"});
  ASSERT_TRUE(dwelling.ok());
  EXPECT_EQ((*dwelling)[0].data_json,
            R"({"territory":"lille","commune":"Lille","typology":"T1","adaptations":["wheelchair","ground_floor"],"rentCents":1})");
  auto household = f.engine->ReadStreamEvents(Subject{StreamKind::kHousehold, "household/H1"});
  ASSERT_TRUE(household.ok());
  ASSERT_EQ(household->size(), 1u);
  EXPECT_EQ((*household)[0].data_json,
            R"({"territory":"sud","commune":"Lille","adults":1,"children":0,"headOfHousehold":{"name":"Zoé \"Test\"","birthDate":"1980-02-29"}})");
}

// relais::Role and the stored schema::Role are one list: the same names at the
// same values, nothing more on either side (the engine's RoleFromName reads the
// schema's names, the projections and the server the public ones).
TEST(RoleTest, PublicRolesAreTheSchemasEnumerants) {
  const auto enumerants = capnp::Schema::from<schema::Role>().getEnumerants();
  ASSERT_EQ(enumerants.size(), kRoleCount);
  for (uint16_t i = 0; i < enumerants.size(); ++i) {
    const auto stored = static_cast<schema::Role>(i);
    const Role role = codec::FromSchemaRole(stored);
    EXPECT_EQ(RoleName(role), codec::RoleName(stored)) << i;
    EXPECT_EQ(codec::ToSchemaRole(role), stored) << i;
    EXPECT_EQ(RoleFromName(codec::RoleName(stored)), role) << i;
  }
  EXPECT_FALSE(RoleFromName("Admin"));
  EXPECT_FALSE(RoleFromName("socialWorker"));
  EXPECT_FALSE(RoleFromName(""));
}

}  // namespace
}  // namespace relais::testing
