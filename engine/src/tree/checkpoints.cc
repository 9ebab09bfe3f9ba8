#include "tree/checkpoints.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <simdjson.h>

#include "relais/files.h"
#include "relais/json_writer.h"

namespace relais::tree {

namespace {

std::string RandomInstallationName() {
  uint8_t b[16];
  randombytes_buf(b, sizeof b);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // UUID version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = ToHex(b, sizeof b);
  return "relais/" + hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace

Result<std::unique_ptr<Checkpointer>> Checkpointer::Open(const std::string& dir, bool create,
                                                         const std::string& origin) {
  crypto::InitOnce();
  auto c = std::make_unique<Checkpointer>();
  c->dir_ = dir;
  std::string path = dir + "/" + kSigningKeyFile;
  std::ifstream f(path, std::ios::binary);
  if (f) {
    std::string text((std::istreambuf_iterator<char>(f)), {});
    auto s = ParseSignerKey(text);
    if (!s.ok()) return Status::Corruption(path + ": " + s.status().message());
    // The name is fixed when the directory is created: another one asked for
    // later would be silently ignored.
    if (!origin.empty() && origin != s->name)
      return Status::InvalidArgument("--origin '" + origin + "': this data directory's origin is '" +
                                     s->name + "', fixed when it was created");
    c->signer_ = std::move(*s);
  } else if (create) {
    std::string name = origin.empty() ? RandomInstallationName() : origin;
    if (!ValidKeyName(name))
      return Status::InvalidArgument("--origin '" + name + "': a name without spaces or '+'");
    std::array<uint8_t, 32> seed;
    randombytes_buf(seed.data(), seed.size());
    ASSIGN_OR_RETURN(NoteSigner s, SignerFromSeed(name, seed));
    sodium_memzero(seed.data(), seed.size());
    RETURN_IF_ERROR(files::WriteFileAtomic(path, FormatSignerKey(s) + "\n", files::kPrivateFileMode));
    c->signer_ = std::move(s);
  }
  return c;
}

Result<const NoteSigner*> Checkpointer::Signer() const {
  if (!signer_)
    return Status::FailedPrecondition(
        "this data directory has no checkpoint signing key yet: it is created at the next "
        "writable open (relais import or relais serve)");
  return &*signer_;
}

Result<std::string> Checkpointer::Issue(uint64_t size, const crypto::Hash& root) {
  ASSIGN_OR_RETURN(const NoteSigner* s, Signer());
  CheckpointBody body{s->name, size, root};
  std::string note = SignNote(*s, FormatCheckpointBody(body));
  std::lock_guard<std::mutex> lock(mu_);
  if (!kept_) {
    ASSIGN_OR_RETURN(std::unordered_set<uint64_t> sizes, KeptSizes());
    kept_ = std::move(sizes);
  }
  if (kept_->count(size)) return note;  // deterministic: the line there is this note
  JsonWriter w;
  w.BeginObject();
  w.Key("size").Uint(size);
  w.Key("checkpoint").String(note);
  w.EndObject();
  std::string line = w.Take() + "\n";
  std::string path = dir_ + "/" + kCheckpointsFile;
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, files::kPrivateFileMode);
  if (fd < 0) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  // A write cut short (a crash before the sync, a full disk) leaves a last
  // line without its newline: end it here, so that this line is a line of its
  // own and the file's last line, the latest checkpoint, stays readable.
  struct stat st;
  char last = '\n';
  if (::fstat(fd, &st) == 0 && st.st_size > 0 && ::pread(fd, &last, 1, st.st_size - 1) != 1) last = '\n';
  if (last != '\n') line.insert(line.begin(), '\n');
  ssize_t n = ::write(fd, line.data(), line.size());
  int err = errno;
  bool synced = n == static_cast<ssize_t>(line.size()) && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!synced) return Status::IoError("cannot keep the checkpoint in " + path + ": " + std::strerror(err));
  kept_->insert(size);
  return note;
}

Result<std::unordered_set<uint64_t>> Checkpointer::KeptSizes() const {
  std::unordered_set<uint64_t> sizes;
  std::string path = dir_ + "/" + kCheckpointsFile;
  std::ifstream f(path, std::ios::binary);
  if (!f) return sizes;
  simdjson::dom::parser parser;
  for (std::string line; std::getline(f, line);) {
    if (f.eof()) break;  // no newline after it: a write cut short, not kept
    simdjson::dom::element root;
    uint64_t size = 0;
    if (parser.parse(line).get(root) || root["size"].get_uint64().get(size)) continue;
    sizes.insert(size);
  }
  if (f.bad()) return Status::IoError("cannot read " + path);
  return sizes;
}

Result<std::optional<std::string>> Checkpointer::Latest() const {
  std::string path = dir_ + "/" + kCheckpointsFile;
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::optional<std::string>();
  // The last whole line: read the file's tail (a line is a few hundred bytes).
  f.seekg(0, std::ios::end);
  std::streamoff end = f.tellg();
  std::streamoff start = end > 8192 ? end - 8192 : 0;
  f.seekg(start);
  std::string tail(static_cast<size_t>(end - start), '\0');
  f.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  size_t last_nl = tail.rfind('\n');
  if (last_nl == std::string::npos) return std::optional<std::string>();
  size_t begin = tail.rfind('\n', last_nl == 0 ? 0 : last_nl - 1);
  begin = begin == std::string::npos || begin >= last_nl ? 0 : begin + 1;
  if (begin == 0 && start != 0) return Status::Corruption(path + ": a line longer than 8 KiB");
  std::string line = tail.substr(begin, last_nl - begin);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view note;
  if (parser.parse(line).get(root) || root["checkpoint"].get(note))
    return Status::Corruption(path + ": its last line is not {\"size\", \"checkpoint\"}");
  return std::optional<std::string>(std::string(note));
}

Result<std::optional<std::string>> Checkpointer::Largest() const {
  std::string path = dir_ + "/" + kCheckpointsFile;
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::optional<std::string>();
  std::optional<std::string> best;
  uint64_t best_size = 0;
  simdjson::dom::parser parser;
  for (std::string line; std::getline(f, line);) {
    if (f.eof()) break;  // no newline after it: a write cut short
    simdjson::dom::element root;
    uint64_t size = 0;
    std::string_view note;
    if (parser.parse(line).get(root) || root["size"].get_uint64().get(size) ||
        root["checkpoint"].get(note))
      continue;
    if (!best || size >= best_size) {
      best = std::string(note);
      best_size = size;
    }
  }
  return best;
}

}  // namespace relais::tree
