// File copies for backups and restores: owner-only, fsynced, bounded, and,
// on restore, checked against the manifest while the bytes go by (one read).
#pragma once

#include <string>

#include "backup/manifest.h"
#include "relais/status.h"

namespace relais::backup {

// Copies the bytes `from` has when opened (a file appended meanwhile is
// copied as it was then) into a new file `to` (0600, must not exist), then
// fsyncs it. With `whole_lines`, a last line without its '\n' (an append in
// progress) is left out. `*copied` gets the bytes written.
Status CopyFilePrefix(const std::string& from, const std::string& to, bool whole_lines,
                      uint64_t* copied);

// Size and SHA-256 of `root`/`rel`.
Result<BackupFile> HashFile(const std::string& root, const std::string& rel);

// Copies `from` into a new file `to` (0600), fsynced, and checks it against
// `expect`: Corruption naming expect.path when the size or the hash differ.
// Never reads more than expect.size + 1 bytes.
Status CopyChecked(const std::string& from, const std::string& to, const BackupFile& expect);

// Whether `path` is `dir` or lies under it (symlinks resolved as far as the
// paths exist).
bool IsInside(const std::string& path, const std::string& dir);

// fsyncs every file and directory under `root` (itself included), deepest
// first, so that what a rename publishes is on disk.
Status FsyncTree(const std::string& root);

}  // namespace relais::backup
