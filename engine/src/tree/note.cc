#include "tree/note.h"
#include "relais/hex.h"

#include <sodium.h>

#include <vector>

namespace relais::tree {

namespace {

constexpr uint8_t kEd25519 = 0x01;
constexpr char kDash[] = "\xE2\x80\x94 ";  // U+2014 and a space

std::string_view Bytes(const uint8_t* p, size_t n) {
  return std::string_view(reinterpret_cast<const char*>(p), n);
}

// Splits off the text before the first '+'.
std::string_view Chop(std::string_view* text) {
  size_t plus = text->find('+');
  if (plus == std::string_view::npos) {
    std::string_view all = *text;
    *text = {};
    return all;
  }
  std::string_view head = text->substr(0, plus);
  text->remove_prefix(plus + 1);
  return head;
}

bool ParseKeyIdHex(std::string_view hex, std::array<uint8_t, 4>* out) { return FromHex(hex, out->data(), out->size()); }

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size() || (n == 2 && c < 0xc2)) return false;
    for (size_t j = 1; j < n; ++j)
      if ((static_cast<unsigned char>(s[i + j]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

}  // namespace

std::string Base64(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

std::optional<std::string> UnBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size())
    return std::nullopt;
  out.resize(len);
  // Canonical only: a re-encoding gives the same text (no stray bits).
  if (Base64(out) != text) return std::nullopt;
  return out;
}

bool ValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (c <= ' ' || c == '+' || c == 0x7f) return false;
  // No Unicode spaces either: relais's names are ASCII.
  for (unsigned char c : name)
    if (c >= 0x80) return false;
  return true;
}

std::array<uint8_t, 4> KeyId(std::string_view name, const std::array<uint8_t, 32>& public_key) {
  std::string buf(name);
  buf.push_back('\n');
  buf.push_back(static_cast<char>(kEd25519));
  buf.append(Bytes(public_key.data(), public_key.size()));
  crypto::Hash h = crypto::Sha256(buf);
  return {h[0], h[1], h[2], h[3]};
}

Result<NoteSigner> SignerFromSeed(std::string name, const std::array<uint8_t, 32>& seed) {
  crypto::InitOnce();
  if (!ValidKeyName(name))
    return Status::InvalidArgument("the key name '" + name + "' has a space, a '+' or nothing");
  NoteSigner s;
  s.name = std::move(name);
  s.seed = seed;
  crypto_sign_seed_keypair(s.public_key.data(), s.secret_key.data(), s.seed.data());
  s.key_id = KeyId(s.name, s.public_key);
  return s;
}

std::string FormatSignerKey(const NoteSigner& s) {
  std::string key(1, static_cast<char>(kEd25519));
  key.append(Bytes(s.seed.data(), s.seed.size()));
  return "PRIVATE+KEY+" + s.name + "+" + ToHex(s.key_id.data(), 4) + "+" + Base64(key);
}

Result<NoteSigner> ParseSignerKey(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::string_view rest = text;
  if (Chop(&rest) != "PRIVATE" || Chop(&rest) != "KEY")
    return Status::Corruption("the signing key does not start with PRIVATE+KEY+");
  std::string name(Chop(&rest));
  std::array<uint8_t, 4> id;
  if (!ParseKeyIdHex(Chop(&rest), &id)) return Status::Corruption("the signing key's ID is not 8 hex digits");
  auto key = UnBase64(rest);
  if (!key || key->size() != 33 || static_cast<uint8_t>((*key)[0]) != kEd25519)
    return Status::Corruption("the signing key is not an Ed25519 key (0x01 and 32 bytes)");
  std::array<uint8_t, 32> seed;
  std::copy(key->begin() + 1, key->end(), seed.begin());
  ASSIGN_OR_RETURN(NoteSigner s, SignerFromSeed(name, seed));
  if (s.key_id != id) return Status::Corruption("the signing key's ID does not match its key");
  return s;
}

std::string FormatVerifierKey(const NoteSigner& s) {
  std::string key(1, static_cast<char>(kEd25519));
  key.append(Bytes(s.public_key.data(), s.public_key.size()));
  return s.name + "+" + ToHex(s.key_id.data(), 4) + "+" + Base64(key);
}

Result<NoteVerifier> ParseVerifierKey(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::string_view rest = text;
  NoteVerifier v;
  v.name = std::string(Chop(&rest));
  if (!ValidKeyName(v.name)) return Status::InvalidArgument("the verifier key's name is not a key name");
  if (!ParseKeyIdHex(Chop(&rest), &v.key_id))
    return Status::InvalidArgument("the verifier key's ID is not 8 lowercase hex digits");
  auto key = UnBase64(rest);
  if (!key || key->size() != 33 || static_cast<uint8_t>((*key)[0]) != kEd25519)
    return Status::InvalidArgument("the verifier key is not an Ed25519 key (base64 of 0x01 and 32 bytes)");
  std::copy(key->begin() + 1, key->end(), v.public_key.begin());
  if (KeyId(v.name, v.public_key) != v.key_id)
    return Status::InvalidArgument("the verifier key's ID does not match its name and key");
  return v;
}

std::string SignNote(const NoteSigner& s, std::string_view text) {
  std::array<uint8_t, 64> sig;
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(text.data()),
                       text.size(), s.secret_key.data());
  std::string blob(Bytes(s.key_id.data(), 4));
  blob.append(Bytes(sig.data(), sig.size()));
  std::string note(text);
  note += "\n";
  note += kDash;
  note += s.name + " " + Base64(blob) + "\n";
  return note;
}

Result<std::string> OpenNote(std::string_view note, const NoteVerifier& v) {
  crypto::InitOnce();
  // The text ends at the last blank line: signature lines hold no "\n\n".
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos || note.empty() || note.back() != '\n')
    return Status::InvalidArgument("malformed note: no blank line before the signatures, or no final newline");
  std::string_view text = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  for (unsigned char c : text)
    if ((c < 0x20 && c != '\n') || c == 0x7f)
      return Status::InvalidArgument("malformed note: a control character in its text");
  if (!ValidUtf8(note)) return Status::InvalidArgument("malformed note: not UTF-8");
  // Every signature line well formed before any is believed.
  struct Sig {
    std::string_view name;
    std::string blob;
  };
  std::vector<Sig> all;
  while (!sigs.empty()) {
    size_t eol = sigs.find('\n');
    std::string_view line = sigs.substr(0, eol);
    sigs.remove_prefix(eol + 1);
    if (line.substr(0, sizeof kDash - 1) != kDash)
      return Status::InvalidArgument("malformed note: a signature line does not start with '— '");
    line.remove_prefix(sizeof kDash - 1);
    size_t space = line.find(' ');
    if (space == std::string_view::npos)
      return Status::InvalidArgument("malformed note: a signature line has no space after the name");
    std::string_view name = line.substr(0, space);
    auto blob = UnBase64(line.substr(space + 1));
    if (!ValidKeyName(name) || !blob || blob->size() < 5)
      return Status::InvalidArgument("malformed note: a signature line is not '— <name> <base64>'");
    if (all.size() == 100) return Status::InvalidArgument("malformed note: over 100 signatures");
    all.push_back({name, std::move(*blob)});
  }
  bool named = false;
  for (const Sig& sig : all) {
    if (sig.name != v.name || std::string_view(sig.blob).substr(0, 4) != Bytes(v.key_id.data(), 4))
      continue;  // another key's signature
    named = true;
    if (sig.blob.size() != 4 + 64) continue;
    if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.blob.data() + 4),
                                    reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                                    v.public_key.data()) == 0)
      return std::string(text);
  }
  if (named) return Status::Corruption("the signature of " + v.name + " does not verify");
  return Status::NotFound("the note carries no signature of " + v.name);
}

std::string FormatCheckpointBody(const CheckpointBody& c) {
  return c.origin + "\n" + std::to_string(c.size) + "\n" +
         Base64(Bytes(c.root.data(), c.root.size())) + "\n";
}

Result<CheckpointBody> ParseCheckpointBody(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    if (eol == std::string_view::npos) return Status::InvalidArgument("malformed checkpoint: no final newline");
    lines.push_back(text.substr(0, eol));
    text.remove_prefix(eol + 1);
  }
  if (lines.size() < 3) return Status::InvalidArgument("malformed checkpoint: fewer than three lines");
  CheckpointBody c;
  c.origin = std::string(lines[0]);
  if (c.origin.empty()) return Status::InvalidArgument("malformed checkpoint: an empty origin");
  std::string_view size = lines[1];
  if (size.empty() || size.size() > 20 || (size.size() > 1 && size[0] == '0'))
    return Status::InvalidArgument("malformed checkpoint: the size is not a decimal number");
  for (char ch : size) {
    if (ch < '0' || ch > '9') return Status::InvalidArgument("malformed checkpoint: the size is not a decimal number");
    uint64_t d = static_cast<uint64_t>(ch - '0');
    if (c.size > (UINT64_MAX - d) / 10) return Status::InvalidArgument("malformed checkpoint: the size overflows");
    c.size = c.size * 10 + d;
  }
  auto root = UnBase64(lines[2]);
  if (!root || root->size() != 32) return Status::InvalidArgument("malformed checkpoint: the root is not base64 of 32 bytes");
  std::copy(root->begin(), root->end(), c.root.begin());
  return c;
}

}  // namespace relais::tree
