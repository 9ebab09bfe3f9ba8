// The roles of interfaces.md §2, one enum for every layer: the engine stamps
// an event's actor with it, the projections filter by it, the server's token
// store and `relais token add` parse it.
//
// A stored event keeps the schema's Role (schema/relais.capnp), which has the
// same enumerants in the same order: the codec converts by value (role.cc
// checks the order at compile time, codec_test checks the names).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace relais {

enum class Role : uint8_t {
  kAdmin,
  kCoordinator,
  kSocialWorker,
  kTenancyStaff,
  kEvaluator,
  kAuditor,
};
inline constexpr size_t kRoleCount = 6;

// The contract's name: "admin", "coordinator", "social_worker",
// "tenancy_staff", "evaluator", "auditor".
std::string_view RoleName(Role r);
// nullopt for any other text (names are case-sensitive).
std::optional<Role> RoleFromName(std::string_view name);

}  // namespace relais
