// The erasure register (lifecycle.md §1): what `relais erasures` prints, one
// NDJSON line per PersonalDataErased, {"subject", "id", "recordedAt",
// "reason"}. `restore --erasures FILE` reads it so that a restored copy made
// before an erasure never brings the erased data back.
#pragma once

#include <string>
#include <vector>

#include "relais/engine.h"
#include "relais/status.h"

namespace relais::backup {

inline constexpr size_t kErasureRegisterBytesMax = 256 << 20;
inline constexpr size_t kErasureLineBytesMax = 4096;

struct ErasureEntry {
  std::string subject;  // household/<id>
  std::string id;       // the PersonalDataErased event's id
  std::string recorded_at;
  std::string reason;  // subject_request | retention_expired | legal_obligation | other
};

// One line of the register (no newline), as `relais erasures` prints it.
std::string ErasureLine(const relais::ErasureEntry& e);

// InvalidArgument naming the line for anything but a valid register; blank
// lines are allowed. An empty `text` is an empty register.
Result<std::vector<ErasureEntry>> ParseErasureRegister(std::string_view text);

}  // namespace relais::backup
