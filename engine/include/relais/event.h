// The domain's view of a case event: plain C++ values, no Cap'n Proto readers.
//
// EventType mirrors the EventData union of schema/relais.capnp (same ordinals,
// checked by static_assert in the codec). Enumerations are the schema's own
// generated enums: one source of truth for every enum value of the contract.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <memory>
#include <string_view>
#include <vector>

#include <capnp/schema.h>

#include "relais.capnp.h"
#include "relais/types.h"

namespace relais {

enum class EventType : uint16_t {
  kHouseholdRegistered = 0,
  kConsentRecorded,
  kHouseholdReferred,
  kReferralDecided,
  kPriorityRecognised,
  kCalApplicationFiled,
  kCalDecisionRecorded,
  kCalConditionResolved,
  kOfferAnswered,
  kOccupancyStarted,
  kSlideReviewHeld,
  kLeaseSwitched,
  kOccupancyEnded,
  kSupportStarted,
  kObjectivesSet,
  kSituationReviewed,
  kSupportPaused,
  kSupportUnpaused,
  kSupportClosed,
  kSupportResumed,
  kArrearsAlertRaised,
  kRepaymentPlanAgreed,
  kFslAidDecided,
  kCcapexReferred,
  kArrearsCleared,
  kEvictionStepRecorded,
  kDifficultyReported,
  kCaseTransferred,
  kDwellingRegistered,
  kDwellingReserved,
  kDwellingReservationEnded,
  kStaffTrainingHeld,
  kTenantConsultationHeld,
  kPartnerMeetingHeld,
  kEventCorrected,
  kEventRetracted,
  kPersonalDataErased,  // contract v2 (lifecycle.md §1)
};
inline constexpr int kEventTypeCount = 37;

// "HouseholdRegistered", ... (the contract's names).
std::string_view EventTypeName(EventType t);
std::optional<EventType> EventTypeFromName(std::string_view name);
bool IsCorrection(EventType t);  // EventCorrected or EventRetracted

namespace sc = ::relais::schema;

// The contract's JSON name of a schema enum value ("direct_lease", "T3", ...),
// read from the schema (snake_case of the enumerant, or its $Json.name).
std::string_view EnumJsonName(capnp::EnumSchema schema, uint16_t value);
template <typename E>
std::string_view JsonName(E value) {
  return EnumJsonName(capnp::Schema::from<E>(), static_cast<uint16_t>(value));
}

// Interned text: identifiers (referral, episode, objective, dwelling ids,
// association names) repeat across events and households, so a record holds a
// view into one process-wide, append-only table instead of its own copy. The
// views stay valid for the life of the process. Thread-safe.
std::string_view Intern(std::string_view text);
// Bytes held by the process-wide table (a figure for tests and metrics).
size_t InternedBytes();

// While an InternScope lives on a thread, Intern() on that thread puts text
// in the scope's own table, freed with it: a request's identifiers stay out of
// the process-wide table until the request is accepted (InternFact), so that
// refused or hostile requests leave nothing behind.
class InternScope {
 public:
  InternScope();
  ~InternScope();
  InternScope(const InternScope&) = delete;
  InternScope& operator=(const InternScope&) = delete;
  // Views handed out in the scope stay valid while `table` lives.
  std::shared_ptr<void> table() const { return table_; }

 private:
  std::shared_ptr<void> table_;
  void* previous_;
};

struct ObjectiveItem {
  std::string_view id;  // interned
  sc::ObjectiveDomain domain = sc::ObjectiveDomain::BUDGET;
  sc::ObjectiveStatus status = sc::ObjectiveStatus::NOT_STARTED;
};

// The fields of an event's data that rules, views and indicators use. Which
// members are meaningful depends on `type`; the rest keep their defaults.
// Personal fields are never here: only whether they are present (has_*).
struct Fact {
  EventType type = EventType::kHouseholdRegistered;

  // Identifiers and names, interned (see Intern).
  std::string_view referral_id;
  std::string_view dwelling_id;
  std::string_view episode_id;
  std::string_view previous_episode_id;
  std::string_view association;  // support episode / occupancy association

  sc::Territory territory = sc::Territory::LILLE;        // registrations, CaseTransferred
  sc::Typology typology = sc::Typology::T1;              // DwellingRegistered
  sc::ConsentPurpose purpose = sc::ConsentPurpose::SUPPORT;
  bool flag = false;  // ConsentRecorded.given, CalConditionResolved.met,
                      // OccupancyStarted.preexisting, FslAidDecided.granted
  sc::Track track = sc::Track::ACCESS;
  sc::ReferralSource source = sc::ReferralSource::OTHER;
  sc::ReferralOutcome outcome = sc::ReferralOutcome::ACCEPTED;
  sc::CalDecision decision = sc::CalDecision::ATTRIBUTION;
  bool has_rank = false;
  bool has_condition = false;
  std::optional<Date> condition_deadline;
  bool has_reason = false;  // the optional free-text `reason`
  bool has_association = false;
  sc::OfferAnswer answer = sc::OfferAnswer::ACCEPTED;
  sc::Contract contract = sc::Contract::DIRECT_LEASE;
  sc::ErasureReason erasure_reason = sc::ErasureReason::OTHER;  // PersonalDataErased
  sc::SlideOutcome slide_outcome = sc::SlideOutcome::FAVOURABLE;
  sc::EndReason end_reason = sc::EndReason::VOLUNTARY_DEPARTURE;
  sc::Destination destination = sc::Destination::UNKNOWN;
  sc::SupportKind kind = sc::SupportKind::ASLL;
  sc::PauseReason pause_reason = sc::PauseReason::OTHER;
  sc::CloseReason close_reason = sc::CloseReason::OTHER;
  std::vector<ObjectiveItem> objectives;  // ObjectivesSet items / SituationReviewed progress
  int64_t amount_cents = 0;               // ArrearsAlertRaised, FslAidDecided
  int32_t count = 0;                      // attendees, participants, severity
  sc::EvictionStep step = sc::EvictionStep::PAYMENT_ORDER;
  sc::DifficultyCategory category = sc::DifficultyCategory::OTHER;

  // EventCorrected / EventRetracted.
  Uuid target_id;
};

// Re-points every text view of `fact` into the process-wide table (an event
// accepted: its record outlives the request that parsed it).
void InternFact(Fact* fact);

// One event of a stream as the engine keeps it in memory and hands to views.
struct EventRecord {
  Position position = 0;
  StreamVersion version = 0;
  Uuid id;
  EventType type = EventType::kHouseholdRegistered;
  Date effective;
  Timestamp recorded;
  // For an ordinary event: its data. For an EventCorrected: the target's fact
  // *after* this correction (earlier corrections of the same target merged in
  // position order), and `corrected_effective` the target's resulting date.
  Fact fact;
  Date corrected_effective;
};

// Visibility classes (events.md §3), read from the schema's $visibility
// annotations. The class an event type declares (EventCorrected and
// EventRetracted declare management: their real class is their target's).
sc::Visibility TypeVisibility(EventType t);
// The class of one event: DifficultyReported with category mental_health is
// health. For a correction or a retraction pass the *target's* type and fact
// (the caller resolves the target through the stream's records).
sc::Visibility VisibilityOf(EventType t, const Fact& fact);
// The JSON names of the top-level $personal fields of an event type's data
// ("headOfHousehold", "notes", "reason", ...), in schema order (events.md §1).
const std::vector<std::string>& PersonalFieldNames(EventType t);

// The shape of every event type's `data`, read from schema/relais.capnp by
// reflection (the same annotations the codec validates input with): what a
// form generator needs (GET /v1/schema). Built once; read-only.
struct SchemaField {
  std::string name;  // the JSON key
  // "text", "integer", "boolean", "date", "uuid", "enum", "object", "list",
  // or "correction" (EventCorrected.data: a partial object of the target's type).
  std::string type;
  bool required = true;          // false for $optional fields
  std::string required_if_field;  // required when sibling `field` has value `value`
  std::string required_if_value;
  std::optional<int64_t> min, max;              // integers
  std::optional<uint32_t> min_items, max_items;  // lists
  size_t max_bytes = 0;                          // text
  bool personal = false;                         // $personal (events.md §1)
  bool bare_id = false;                          // the id of another stream, no prefix
  std::vector<std::string> values;               // enum: the JSON values, in order
  std::string enum_name;                         // enum: the schema's name ("Contract")
  std::string item_type;                         // list: its elements' type (as `type`)
  std::vector<std::string> item_values;          // list of enums
  std::string item_enum_name;
  std::vector<SchemaField> fields;               // object, or list of objects
};
struct SchemaEventType {
  EventType type;
  std::string name;        // "HouseholdRegistered"
  std::string stream;      // "household" | "dwelling" | "territory" | "any"
  std::string visibility;  // "management" | "social" | "health" (declared class)
  std::vector<SchemaField> fields;
};
const std::vector<SchemaEventType>& EventSchema();

}  // namespace relais
