#include "relais/role.h"

#include <array>

#include "relais.capnp.h"

namespace relais {

namespace {

// The stored actor's role is the schema's enum: converting by value is only
// right while both lists agree enumerant for enumerant.
template <Role r, schema::Role s>
constexpr bool kSame = static_cast<uint16_t>(r) == static_cast<uint16_t>(s);
static_assert(kSame<Role::kAdmin, schema::Role::ADMIN>);
static_assert(kSame<Role::kCoordinator, schema::Role::COORDINATOR>);
static_assert(kSame<Role::kSocialWorker, schema::Role::SOCIAL_WORKER>);
static_assert(kSame<Role::kTenancyStaff, schema::Role::TENANCY_STAFF>);
static_assert(kSame<Role::kEvaluator, schema::Role::EVALUATOR>);
static_assert(kSame<Role::kAuditor, schema::Role::AUDITOR>);

constexpr std::array<std::string_view, kRoleCount> kNames = {
    "admin", "coordinator", "social_worker", "tenancy_staff", "evaluator", "auditor"};

}  // namespace

std::string_view RoleName(Role r) { return kNames[static_cast<size_t>(r)]; }

std::optional<Role> RoleFromName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Role>(i);
  return std::nullopt;
}

}  // namespace relais
