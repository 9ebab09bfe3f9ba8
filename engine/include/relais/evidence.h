// Evidence bundles checked without a data directory (evidence.md §3,
// docs/evidence.md): what `relais check-evidence` runs, and what a bundle's
// builder uses to check a `--since` checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "relais/status.h"

namespace relais::evidence {

// A checkpoint whose signature by the verifier key checked.
struct SignedCheckpoint {
  std::string origin;
  uint64_t size = 0;
  std::string root;  // 32 raw bytes
};
// Checks the note's signature by `verifier_key` (the note-format line) and
// parses its body. InvalidArgument for a bad key; Corruption naming the
// problem for a bad note.
Result<SignedCheckpoint> OpenCheckpoint(std::string_view note, std::string_view verifier_key);

struct CheckResult {
  bool ok = false;
  std::string problem;  // when !ok: what failed, naming the event
  std::string subject;
  uint64_t size = 0;    // the bundle checkpoint's tree size
  uint64_t events = 0;
  bool since = false;   // a consistency proof from `since` was checked
};
// Every check of evidence.md §3, in order: the checkpoint's signature, then
// per event its hash from `stored`, its prevHash, its fields against the
// stored bytes, its inclusion in the signed root; then `since`.
CheckResult CheckBundle(std::string_view bundle_json, std::string_view verifier_key);

}  // namespace relais::evidence
