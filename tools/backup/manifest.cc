#include "backup/manifest.h"

#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>

#include "relais/hex.h"
#include "relais/json_writer.h"

namespace relais::backup {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256::Update(const void* data, size_t n) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, n);
}
std::string Sha256::HexDigest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len);
  return ToHex(md, len);
}

bool IsSafeRelativePath(std::string_view path) {
  if (path.empty() || path.size() > kBackupPathBytesMax) return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

std::string EncodeManifest(const BackupManifest& m) {
  JsonWriter w;
  w.BeginObject();
  w.Key("format").String(kBackupFormat);
  w.Key("formatVersion").Int(m.format_version);
  w.Key("position").Uint(m.position);
  w.Key("head").String(m.head);
  w.Key("createdAt").String(m.created_at);
  w.Key("erasures").BeginArray();
  for (const auto& e : m.erasures) w.Raw(e);
  w.EndArray();
  w.Key("files").BeginArray();
  for (const auto& f : m.files) {
    w.BeginObject();
    w.Key("path").String(f.path);
    w.Key("size").Uint(f.size);
    w.Key("sha256").String(f.sha256);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::string s = w.Take();
  s.push_back('\n');
  return s;
}

namespace {

bool IsHex(std::string_view s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Status Bad(const std::string& what) { return Status::Corruption("BACKUP.json: " + what); }

}  // namespace

Result<BackupManifest> ParseManifest(std::string_view text) {
  if (text.size() > kManifestBytesMax) return Bad("larger than the limit");
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root)) return Bad("not valid JSON");
  simdjson::dom::object obj;
  if (root.get(obj)) return Bad("not an object");
  std::string_view format;
  if (obj["format"].get(format) || format != kBackupFormat)
    return Bad("'format' is not " + std::string(kBackupFormat));
  BackupManifest m;
  int64_t version = 0;
  if (obj["formatVersion"].get(version)) return Bad("no 'formatVersion'");
  if (version != kBackupFormatVersion)
    return Bad("format version " + std::to_string(version) + ", this relais reads " +
               std::to_string(kBackupFormatVersion));
  m.format_version = static_cast<int>(version);
  uint64_t position = 0;
  if (obj["position"].get(position)) return Bad("no 'position'");
  m.position = position;
  std::string_view s;
  if (obj["head"].get(s) || !IsHex(s, 64)) return Bad("'head' is not 64 hex digits");
  m.head = std::string(s);
  if (obj["createdAt"].get(s) || !ParseTimestamp(s)) return Bad("'createdAt' is not an instant");
  m.created_at = std::string(s);
  simdjson::dom::array arr;
  if (obj["erasures"].get(arr)) return Bad("no 'erasures' array");
  for (auto e : arr) m.erasures.push_back(simdjson::minify(e));
  if (obj["files"].get(arr)) return Bad("no 'files' array");
  for (auto e : arr) {
    if (m.files.size() >= kBackupFilesMax) return Bad("more than the limit of files");
    BackupFile f;
    if (e["path"].get(s) || !IsSafeRelativePath(s)) return Bad("a file has an unsafe path");
    f.path = std::string(s);
    if (f.path == kManifestName) return Bad("lists itself");
    if (e["size"].get(f.size)) return Bad(f.path + " has no size");
    if (e["sha256"].get(s) || !IsHex(s, 64)) return Bad(f.path + " has no SHA-256");
    f.sha256 = std::string(s);
    if (!m.files.empty() && m.files.back().path >= f.path)
      return Bad("files are not sorted by path, or listed twice (" + f.path + ")");
    m.files.push_back(std::move(f));
  }
  return m;
}

}  // namespace relais::backup
