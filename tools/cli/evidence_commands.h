// `relais checkpoint`, `prove`, `evidence`, `check-evidence` (evidence.md §3).
#pragma once

#include <optional>
#include <string>

namespace relais::cli {

struct EvidenceArgs {
  std::string size;      // --size (text: parsed strictly here)
  std::string position;  // --position
  std::string from;      // --from
  std::string known_at;  // --known-at
  std::string since_file;
  std::string verifier_key;
  bool verifier_key_flag = false;
};

int RunCheckpoint(const std::string& dir, const EvidenceArgs& a);
int RunProve(const std::string& dir, const EvidenceArgs& a);
int RunEvidence(const std::string& dir, const std::string& subject, const EvidenceArgs& a);
int RunCheckEvidence(const std::string& file, const EvidenceArgs& a);

// A decimal option value: digits only, no sign, fits in 63 bits.
std::optional<uint64_t> ParseCount(const std::string& text);

}  // namespace relais::cli
