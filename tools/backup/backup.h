// Backups and restores of a whole data directory (interfaces.md §3 `backup`,
// `restore`; docs/on-disk-format.md "Backup layout").
//
//   auto m = backup::BackupDataDir(*engine, "relais-data", "/mnt/b/2026-12-01");
//   auto r = backup::RestoreDataDir("/mnt/b/2026-12-01", "relais-data", {});
//
// BackupDataDir runs in the process that holds the engine (the CLI, or the
// server for POST /v1/backup) while writers run. RestoreDataDir needs no
// engine: it builds the new directory beside the target and renames it in.
#pragma once

#include <functional>
#include <string>

#include "backup/manifest.h"
#include "relais/engine.h"
#include "relais/status.h"

namespace relais::backup {

// A consistent copy of `data_dir` (the directory `engine` was opened on) into
// `dest`, which must not exist and must not be inside `data_dir`:
// engine.Backup(dest) (log, then keys), then every other file relais keeps in
// the data directory (tokens, access journal, pseudonym key, ...), each
// fsynced, everything owner-only, then dest/BACKUP.json, atomically, last.
// On failure nothing is left at `dest`. Thread-safe: concurrent appends go
// on; concurrent backups of one process run one after the other.
// InvalidArgument when `dest` exists or is inside `data_dir`.
Result<BackupManifest> BackupDataDir(Engine& engine, const std::string& data_dir,
                                     const std::string& dest);

// Reads and checks `src`/BACKUP.json only (not the files): NotFound when
// `src` does not exist, Corruption when the manifest is missing (an
// incomplete backup) or malformed.
Result<BackupManifest> ReadBackupManifest(const std::string& src);

struct RestoreOptions {
  bool force = false;          // replace a non-empty data directory
  std::string erasures_file;  // the erasure register to honour ("" = none)
  // Tests: runs once the replaced directory's erasures are read, while the
  // restore copies and verifies (another process trying to write there then).
  std::function<void()> after_erasures_read;
};

struct RestoreResult {
  Position position = 0;
  std::string head;
  int64_t erasures_applied = 0;
};

// Makes `data_dir` a copy of the backup `src` (interfaces.md §3): every file
// checked against BACKUP.json while copied into a temporary sibling directory,
// fsynced, opened and verified there, erasures honoured there, and only then
// renamed into place (atomically exchanged with an existing directory), so a
// crash never leaves a half-restored `data_dir`.
// Errors: InvalidArgument (non-empty `data_dir` without force, bad erasure
// register), NotFound (no `src`), Corruption (damaged or incomplete backup,
// restored copy fails verify), Busy (another process holds `data_dir`),
// FailedPrecondition (an erasure this relais cannot honour yet).
Result<RestoreResult> RestoreDataDir(const std::string& src, const std::string& data_dir,
                                     const RestoreOptions& options);

}  // namespace relais::backup
