// BACKUP.json: what a complete backup holds (docs/on-disk-format.md, "Backup
// layout"). Written last, atomically: a backup directory without it is
// incomplete and `restore` refuses it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "relais/status.h"
#include "relais/types.h"

namespace relais::backup {

inline constexpr char kManifestName[] = "BACKUP.json";
inline constexpr char kBackupFormat[] = "relais-backup-1";
inline constexpr int kBackupFormatVersion = 1;
// Limits: a manifest of a million files is ~150 MB of JSON; far beyond any
// data directory relais writes (RocksDB keeps a few hundred files).
inline constexpr size_t kManifestBytesMax = 64 << 20;
inline constexpr size_t kBackupFilesMax = 200000;
inline constexpr size_t kBackupPathBytesMax = 255;

struct BackupFile {
  std::string path;  // relative to the backup directory, '/'-separated
  uint64_t size = 0;
  std::string sha256;  // hex
};

struct BackupManifest {
  int format_version = kBackupFormatVersion;
  Position position = 0;  // the last position of the copied log (0: empty)
  std::string head;       // that event's hash, hex (64 zeros: empty log)
  std::string created_at;  // RFC 3339 UTC
  // The erasure register of the copied log (lifecycle.md §1), NDJSON lines as
  // `relais erasures` prints them; always empty until erasure exists. Restore
  // uses it to know which households the copy already has erased.
  std::vector<std::string> erasures;
  std::vector<BackupFile> files;  // every file of the backup but BACKUP.json, sorted by path
};

std::string EncodeManifest(const BackupManifest& m);
// Corruption (naming what is wrong) for anything but a well-formed manifest
// of a known format version with safe relative paths.
Result<BackupManifest> ParseManifest(std::string_view text);

// A path inside a backup: relative, components of [A-Za-z0-9._-] that are not
// "." or "..", so that a tampered manifest cannot write outside the target.
bool IsSafeRelativePath(std::string_view path);

// SHA-256 of a byte string, hex.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* data, size_t n);
  std::string HexDigest();

 private:
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace relais::backup
