// RestoreDataDir and ReadBackupManifest: a backup becomes a data directory
// only once every byte is checked, the copy verified and the erasures
// honoured, in a directory nobody looks at; then one rename publishes it.
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>

#include "backup/backup.h"
#include "backup/copy.h"
#include "backup/erasure_register.h"
#include "backup/holder.h"
#include "relais/files.h"

namespace relais::backup {

namespace {

namespace fs = std::filesystem;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

Result<std::vector<ErasureEntry>> ReadRegister(const std::string& path) {
  if (path.empty()) return std::vector<ErasureEntry>{};
  Result<std::string> text = files::ReadFile(path, kErasureRegisterBytesMax);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound)
      return Status::InvalidArgument("--erasures: " + path + " does not exist");
    return Status::InvalidArgument("--erasures: " + text.status().message());
  }
  if (text->compare(0, 3, "\xEF\xBB\xBF") == 0)
    return Status::InvalidArgument("--erasures: " + path +
                                   " starts with a UTF-8 byte order mark (bytes EF BB BF): save it "
                                   "as UTF-8 without BOM");
  return ParseErasureRegister(*text);
}

// The erasure register of the data directory a restore replaces. A directory
// with no log has none; one whose log cannot be read is refused: its
// erasures would be lost, and the restore could bring erased data back.
Result<std::vector<ErasureEntry>> ReplacedErasures(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir + "/log/CURRENT", ec)) return std::vector<ErasureEntry>{};
  Options o;
  o.data_dir = dir;
  o.read_only = true;
  auto engine = Engine::Open(o);
  if (!engine.ok())
    return Status::FailedPrecondition(
        "the erasures of the replaced directory " + dir + " cannot be read (" +
        engine.status().message() +
        "): move it aside and restore into an empty directory with --erasures and the kept "
        "register");
  ASSIGN_OR_RETURN(std::vector<relais::ErasureEntry> entries, (*engine)->Erasures());
  std::vector<ErasureEntry> out;
  for (const auto& e : entries)
    out.push_back({e.subject.text, e.id, FormatTimestamp(e.recorded_at),
                   std::string(ErasureReasonName(e.reason))});
  return out;
}

// Removes the temporary directory unless the restore got through.
struct TempDir {
  std::string path;
  bool keep = false;
  ~TempDir() {
    if (keep || path.empty()) return;
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Opens the copy, verifies it, checks it is the backup's head, and honours
// the erasures there (before anyone can see the copy).
Result<RestoreResult> VerifyAndErase(const std::string& dir, const BackupManifest& m,
                                     const std::vector<ErasureEntry>& erasures) {
  Options o;
  o.data_dir = dir;
  o.create_if_missing = false;
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(o));
  // The record snapshot is a cache: the restored copy's is rebuilt from its
  // log when the engine closes, never trusted across a restore.
  RETURN_IF_ERROR(engine->DropRecordSnapshot());
  VerifyReport r = engine->Verify(nullptr);
  if (!r.ok)
    return Status::Corruption("the restored copy fails verify at position " +
                              std::to_string(r.first_bad_position) + ": " + r.problem);
  Head head = engine->GetHead();
  if (head.position != m.position || head.hash != m.head)
    return Status::Corruption("the restored log ends at position " +
                              std::to_string(head.position) + " (" + head.hash +
                              "), BACKUP.json says " + std::to_string(m.position) + " (" + m.head +
                              ")");
  RestoreResult out;
  // lifecycle.md §1: each household of the registers (the replaced
  // directory's, then --erasures) that the copy holds and has not erased
  // gets a PersonalDataErased, same reason, actor "restore", and loses its
  // key, before anyone can see the copy. A household the copy does not hold
  // has nothing to erase.
  const ActorInfo actor{"restore", "admin", "-"};
  std::set<std::string> done;
  for (const auto& e : erasures) {
    if (!done.insert(e.subject).second) continue;
    std::string why;
    auto subject = ParseSubject(e.subject, &why);
    if (!subject) return Status::InvalidArgument("--erasures: " + e.subject + ": " + why);
    auto reason = ErasureReasonFromName(e.reason);
    if (!reason) return Status::InvalidArgument("--erasures: " + e.subject + ": unknown reason");
    bool present = false;
    RETURN_IF_ERROR(engine->ReadStream(
        *subject, [&](const std::vector<EventRecord>& records) { present = !records.empty(); }));
    if (!present) continue;
    ASSIGN_OR_RETURN(bool erased, engine->IsErased(*subject));
    if (erased) continue;
    AppendOutcome o = engine->Erase(*subject, *reason, actor);
    if (o.kind == AppendOutcome::Kind::kError) return o.error;
    if (o.kind == AppendOutcome::Kind::kRefused)
      return Status::FailedPrecondition("the erasure of " + e.subject + " cannot be re-applied (" +
                                        o.refusal.code + ": " + o.refusal.message +
                                        "): restore refused so that erased personal data is not "
                                        "brought back");
    ++out.erasures_applied;
  }
  Head after = engine->GetHead();
  out.position = after.position;
  out.head = after.hash;
  engine->Close();
  return out;
}

// Puts `tmp` at `target`: atomically swapped with an existing directory (the
// old one ends at `tmp` and is removed), or renamed when there is none.
// `lock`: the replaced directory's, held since its erasures were read.
Status Publish(const std::string& tmp, const std::string& target, bool target_exists,
               const std::string& parent, std::unique_ptr<DirectoryLock> lock) {
  if (!target_exists) {
    if (::rename(tmp.c_str(), target.c_str()) != 0)
      return Status::IoError(Errno("renaming " + tmp + " to " + target));
    return files::FsyncDirectory(parent);
  }
  // Keep a server from opening the old directory while it is swapped out.
  if (!lock) {
    ASSIGN_OR_RETURN(lock, DirectoryLock::Acquire(target));
  }
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
    if (errno != EINVAL && errno != ENOSYS)
      return Status::IoError(Errno("exchanging " + tmp + " and " + target));
    // A file system without RENAME_EXCHANGE: two renames. A crash between them
    // leaves no directory at `target` (never a half-restored one) and the old
    // one at `aside`.
    std::string aside = tmp + ".old";
    if (::rename(target.c_str(), aside.c_str()) != 0)
      return Status::IoError(Errno("renaming " + target + " to " + aside));
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
      Status st = Status::IoError(Errno("renaming " + tmp + " to " + target));
      ::rename(aside.c_str(), target.c_str());  // put the old one back
      return st;
    }
    RETURN_IF_ERROR(files::FsyncDirectory(parent));
    lock.reset();
    std::error_code ec;
    fs::remove_all(aside, ec);
    return Status::Ok();
  }
  RETURN_IF_ERROR(files::FsyncDirectory(parent));
  lock.reset();
  // `tmp` now holds the replaced directory.
  std::error_code ec;
  fs::remove_all(tmp, ec);
  if (ec) return Status::IoError("removing the replaced directory " + tmp + ": " + ec.message());
  return files::FsyncDirectory(parent);
}

}  // namespace

Result<BackupManifest> ReadBackupManifest(const std::string& src) {
  struct stat st;
  if (::stat(src.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::NotFound("the backup " + src + " does not exist or is not a directory");
  Result<std::string> text = files::ReadFile(src + "/" + kManifestName, kManifestBytesMax);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound)
      return Status::Corruption("the backup " + src + " is incomplete: it has no " +
                                kManifestName + " (written last by a backup that completed)");
    return text.status();
  }
  return ParseManifest(*text);
}

Result<RestoreResult> RestoreDataDir(const std::string& src, const std::string& data_dir,
                                     const RestoreOptions& options) {
  ASSIGN_OR_RETURN(std::vector<ErasureEntry> erasures, ReadRegister(options.erasures_file));
  ASSIGN_OR_RETURN(BackupManifest m, ReadBackupManifest(src));
  if (data_dir.empty()) return Status::InvalidArgument("--data is empty");
  std::error_code ec;
  fs::path target = fs::absolute(data_dir, ec).lexically_normal();
  if (ec) return Status::InvalidArgument("--data " + data_dir + ": " + ec.message());
  if (target.filename().empty()) target = target.parent_path();
  // The replaced directory is removed: it must not be (or hold) the backup.
  if (IsInside(src, target.string()))
    return Status::InvalidArgument("the backup " + src + " is inside the data directory " +
                                   data_dir + ", which a restore replaces");
  struct stat st;
  bool exists = ::lstat(target.c_str(), &st) == 0;
  if (exists && !S_ISDIR(st.st_mode))
    return Status::InvalidArgument("--data " + data_dir + " exists and is not a directory");
  // A directory whose emptiness cannot be read counts as non-empty.
  bool empty = exists && fs::is_empty(target, ec) && !ec;
  if (exists && !empty) {
    if (!options.force)
      return Status::InvalidArgument("the data directory " + data_dir +
                                     " is not empty: restore replaces it only with --force");
    if (auto h = DataDirHolder(target.string()))
      return Status::Busy(HeldMessage(data_dir, *h) + ": stop it before restoring");
  }
  // Held from before the replaced directory's erasures are read until it is
  // swapped out: an erasure another process made in between (relais erase
  // while the copy runs) would otherwise be lost with the old directory, and
  // the restore would bring the erased data back. The read-only open below
  // takes no LOCK, so it neither needs nor drops this one.
  std::unique_ptr<DirectoryLock> lock;
  if (exists && !empty) {
    ASSIGN_OR_RETURN(lock, DirectoryLock::Acquire(target.string()));
  }
  std::string parent = target.parent_path().string();
  if (!fs::exists(parent, ec)) RETURN_IF_ERROR(files::MakePrivateDirectory(parent));
  // The erasures the replaced directory knows of come first (lifecycle.md §1).
  if (exists && !empty) {
    ASSIGN_OR_RETURN(std::vector<ErasureEntry> replaced, ReplacedErasures(target.string()));
    erasures.insert(erasures.begin(), replaced.begin(), replaced.end());
  }
  if (options.after_erasures_read) options.after_erasures_read();

  // A sibling, so that the final rename stays on one file system; its name
  // says what it is should a crash leave it behind.
  std::random_device rd;
  TempDir tmp;
  tmp.path = parent + "/." + target.filename().string() + ".restore-" +
             std::to_string(::getpid()) + "-" + std::to_string(rd());
  RETURN_IF_ERROR(files::MakePrivateDirectory(tmp.path));
  for (const auto& f : m.files) {
    fs::path to = fs::path(tmp.path) / f.path;
    if (to.parent_path() != fs::path(tmp.path))
      RETURN_IF_ERROR(files::MakePrivateDirectory(to.parent_path().string()));
    RETURN_IF_ERROR(CopyChecked(src + "/" + f.path, to.string(), f));
  }
  RETURN_IF_ERROR(FsyncTree(tmp.path));
  ASSIGN_OR_RETURN(RestoreResult result, VerifyAndErase(tmp.path, m, erasures));
  // Opening the copy created files (LOCK, a new MANIFEST, logs) with the umask.
  RETURN_IF_ERROR(files::RestrictTree(tmp.path));
  RETURN_IF_ERROR(FsyncTree(tmp.path));
  RETURN_IF_ERROR(Publish(tmp.path, target.string(), exists, parent, std::move(lock)));
  tmp.keep = true;  // published (and, on an exchange, already removed)
  return result;
}

}  // namespace relais::backup
