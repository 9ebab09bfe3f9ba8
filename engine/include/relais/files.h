// Durable, owner-only files outside RocksDB (tokens, journal, keys, manifests).
//
// Every file relais writes itself goes through here, so that a crash leaves
// either the old content or the new one, never an empty or torn file, and so
// that nothing under a data directory is readable by another local account
// (the log and the key store together open every household's personal data).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "relais/status.h"

namespace relais::files {

// Owner-only modes for everything under a data directory, whatever the umask.
inline constexpr mode_t kPrivateFileMode = 0600;
inline constexpr mode_t kPrivateDirMode = 0700;

// Replaces `path` with `bytes`: a temporary file in the same directory,
// written in full, fsynced, renamed over `path`, then the directory fsynced.
// The file ends with `mode` (chmod, not umask-dependent).
Status WriteFileAtomic(const std::string& path, std::string_view bytes,
                       mode_t mode = kPrivateFileMode);

// Reads a whole file of at most `max_bytes` (a larger file is an error, never
// silently truncated). NotFound when it does not exist.
Result<std::string> ReadFile(const std::string& path, size_t max_bytes);

// Writes all of `data` to `fd`, retrying short writes and EINTR.
Status WriteAll(int fd, std::string_view data, const std::string& what);

// fsync of a directory, so that a file created, renamed or removed in it
// survives a power cut.
Status FsyncDirectory(const std::string& dir);

// Creates `dir` (and missing parents) owner-only; an existing `dir` is set to
// owner-only too.
Status MakePrivateDirectory(const std::string& dir);

// Sets every directory under `root` (itself included) to 0700 and every file
// to 0600: RocksDB creates its files with the process umask.
Status RestrictTree(const std::string& root);

}  // namespace relais::files
