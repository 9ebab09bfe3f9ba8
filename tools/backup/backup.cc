// BackupDataDir: the RocksDB checkpoints come from Engine::Backup; this adds
// the files the tools keep beside them and the manifest that marks the
// backup complete.
#include "backup/backup.h"
#include "backup/erasure_register.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "backup/copy.h"
#include "relais/files.h"

namespace relais::backup {

namespace {

namespace fs = std::filesystem;

// The two RocksDB databases, copied by Engine::Backup as checkpoints.
bool IsDatabaseDir(const std::string& name) { return name == "log" || name == "keys"; }

// Files never copied: lock files (meaningless in a copy, and RocksDB's are
// recreated on open) and temporary files of an atomic write in progress
// (files::WriteFileAtomic's "X.tmp.PID.N", the token store's "tokens.json.tmp").
bool IsSkipped(const std::string& name) {
  if (name == "LOCK" || name == kManifestName) return true;
  if (name.size() > 5 && name.ends_with(".lock")) return true;
  return name.find(".tmp") != std::string::npos;
}

// Append-only NDJSON files (the access journal) may have a line being
// written: the copy keeps whole lines only.
bool IsAppendOnlyLines(const std::string& name) { return name.ends_with(".ndjson"); }

// Copies every file of `from` but the databases into `to`, recursively
// (a future relais directory, say evidence checkpoints, is copied too).
Status CopyOtherFiles(const fs::path& from, const fs::path& to, bool top) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (auto it = fs::directory_iterator(from, ec); !ec && it != fs::directory_iterator();
       it.increment(ec))
    entries.push_back(*it);
  if (ec) return Status::IoError("listing " + from.string() + ": " + ec.message());
  std::sort(entries.begin(), entries.end());
  for (const auto& e : entries) {
    std::string name = e.path().filename().string();
    if ((top && IsDatabaseDir(name)) || IsSkipped(name)) continue;
    if (!IsSafeRelativePath(name))
      return Status::InvalidArgument("the data directory holds a file with a name a backup "
                                     "cannot carry: " + e.path().string());
    struct stat st;
    if (::lstat(e.path().c_str(), &st) != 0) continue;  // removed meanwhile
    if (S_ISDIR(st.st_mode)) {
      RETURN_IF_ERROR(files::MakePrivateDirectory((to / name).string()));
      RETURN_IF_ERROR(CopyOtherFiles(e.path(), to / name, false));
    } else if (S_ISREG(st.st_mode)) {
      uint64_t copied = 0;
      RETURN_IF_ERROR(CopyFilePrefix(e.path().string(), (to / name).string(),
                                     IsAppendOnlyLines(name), &copied));
    }
    // Symlinks, sockets (a future control socket), fifos: not data, not copied.
  }
  return Status::Ok();
}

Result<std::vector<BackupFile>> ListAndHash(const std::string& root) {
  std::vector<std::string> rels;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    std::string rel = fs::relative(it->path(), root, ec).generic_string();
    if (rel == kManifestName) continue;
    if (!IsSafeRelativePath(rel))
      return Status::Internal("backup file with an unexpected name: " + rel);
    rels.push_back(std::move(rel));
    if (rels.size() > kBackupFilesMax)
      return Status::ResourceExhausted("more than " + std::to_string(kBackupFilesMax) +
                                       " files to back up");
  }
  if (ec) return Status::IoError("listing " + root + ": " + ec.message());
  std::sort(rels.begin(), rels.end());
  std::vector<BackupFile> out;
  out.reserve(rels.size());
  for (const auto& rel : rels) {
    ASSIGN_OR_RETURN(BackupFile f, HashFile(root, rel));
    out.push_back(std::move(f));
  }
  return out;
}

// `*created`: dest is ours to remove on failure.
Result<BackupManifest> Run(Engine& engine, const std::string& data_dir, const std::string& dest,
                           bool* created) {
  Result<BackupPoint> backed = engine.Backup(dest);
  // InvalidArgument: dest appeared since our check (another process): not ours.
  *created = backed.ok() || backed.status().code() != StatusCode::kInvalidArgument;
  if (!backed.ok()) return backed.status();
  const BackupPoint& point = *backed;
  RETURN_IF_ERROR(CopyOtherFiles(data_dir, dest, true));
  RETURN_IF_ERROR(files::RestrictTree(dest));
  RETURN_IF_ERROR(FsyncTree(dest));
  BackupManifest m;
  m.position = point.position;
  m.head = point.head;
  m.created_at = FormatTimestamp(SystemClock()->Now());
  // The copy's erasure register (lifecycle.md §1): those up to its head (an
  // erasure committed after the checkpoint is not in the copy).
  ASSIGN_OR_RETURN(std::vector<relais::ErasureEntry> erased, engine.Erasures());
  for (const auto& e : erased)
    if (e.position <= point.position) m.erasures.push_back(ErasureLine(e));
  ASSIGN_OR_RETURN(m.files, ListAndHash(dest));
  // Last: its presence is what makes the backup complete.
  RETURN_IF_ERROR(files::WriteFileAtomic(dest + "/" + kManifestName, EncodeManifest(m)));
  return m;
}

}  // namespace

Result<BackupManifest> BackupDataDir(Engine& engine, const std::string& data_dir,
                                     const std::string& dest) {
  // Engine::Backup checks that dest does not exist and then creates it: two
  // backups to one dest at once must not both pass that check.
  // One at a time, and a second one is told so at once rather than holding
  // a server worker while it waits.
  static std::mutex mu;
  std::unique_lock<std::mutex> lock(mu, std::try_to_lock);
  if (!lock.owns_lock()) return Status::ResourceExhausted("another backup is running; retry later");
  if (dest.empty()) return Status::InvalidArgument("the backup destination is empty");
  for (unsigned char c : dest)
    if (c < 0x20 || c == 0x7f)
      return Status::InvalidArgument("the backup destination holds a control character");
  struct stat st;
  if (::lstat(dest.c_str(), &st) == 0)
    return Status::InvalidArgument("the backup destination " + dest + " already exists");
  if (IsInside(dest, data_dir))
    return Status::InvalidArgument("the backup destination " + dest +
                                   " is inside the data directory " + data_dir);
  bool created = false;
  Result<BackupManifest> m = Run(engine, data_dir, dest, &created);
  if (!m.ok() && created) {
    // Everything at dest is ours (it did not exist): leave no incomplete copy.
    std::error_code ec;
    fs::remove_all(dest, ec);
  }
  return m;
}

}  // namespace relais::backup
