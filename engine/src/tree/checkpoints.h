// The installation's checkpoint signer and the checkpoints it issued
// (docs/evidence.md, docs/on-disk-format.md "Checkpoint files"):
//
//   DIR/checkpoint.key        0600, one line: PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>
//   DIR/checkpoints.ndjson    0600, one line per checkpoint issued:
//                             {"size": N, "checkpoint": "<the signed note>"}
//
// The key's name is the installation's name and the checkpoints' origin,
// fixed when the key is created: with the data directory, or at the next
// writable open of a directory made before checkpoints existed. A read-only
// open never creates it. The list is a file, not a column family, so that a
// read-only process (a report while a server holds the directory) keeps what
// it signs too; lines are appended whole (O_APPEND) and synced.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_set>
#include <optional>
#include <string>

#include "tree/note.h"

namespace relais::tree {

inline constexpr char kSigningKeyFile[] = "checkpoint.key";
inline constexpr char kCheckpointsFile[] = "checkpoints.ndjson";

class Checkpointer {
 public:
  // Loads DIR/checkpoint.key; when `create` and it is missing, creates it
  // named `origin` (empty: relais/<random UUID>).
  static Result<std::unique_ptr<Checkpointer>> Open(const std::string& dir, bool create,
                                                    const std::string& origin);

  bool has_key() const { return signer_.has_value(); }
  // FailedPrecondition when there is no key yet.
  Result<const NoteSigner*> Signer() const;
  // The signed checkpoint of the tree (size, root), appended to the list
  // unless one of that size is there already (signatures are deterministic:
  // it is this note). Each size is kept once, so that any caller asking for
  // checkpoints of many sizes grows the list by at most one line per size of
  // the log, never without bound.
  Result<std::string> Issue(uint64_t size, const crypto::Hash& root);
  // The last checkpoint of the list (nullopt: none).
  Result<std::optional<std::string>> Latest() const;
  // The kept checkpoint of the largest size (nullopt: none), read through the
  // whole list: any reader may have a smaller size issued after it, so the
  // last line is not the one that covers the most of the log. Lines that do
  // not parse (a write cut short) are skipped. For verify.
  Result<std::optional<std::string>> Largest() const;

 private:
  // The sizes of the list's whole lines.
  Result<std::unordered_set<uint64_t>> KeptSizes() const;

  std::string dir_;
  std::optional<NoteSigner> signer_;
  mutable std::mutex mu_;
  // The sizes of the list's lines, read once on the first Issue and kept up
  // to date by this process (another process may append a size meanwhile:
  // it is then kept twice, the same note, which readers accept).
  std::optional<std::unordered_set<uint64_t>> kept_;
};

}  // namespace relais::tree
