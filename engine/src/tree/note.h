// Signed notes (C2SP signed-note, Ed25519, signature type 0x01) and the
// checkpoint body (C2SP tlog-checkpoint): docs/evidence.md, "The note".
//
//   <text, ending with \n>
//   \n
//   — <key name> <base64(key ID (4 bytes) || signature (64 bytes))>\n
//
// key ID = SHA-256(key name || 0x0A || 0x01 || public key)[0:4]. Ed25519 is
// deterministic: the same body and key give the same note, byte for byte.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/crypto.h"
#include "relais/status.h"

namespace relais::tree {

struct NoteSigner {
  std::string name;
  std::array<uint8_t, 32> seed{};
  std::array<uint8_t, 32> public_key{};
  std::array<uint8_t, 64> secret_key{};  // libsodium's seed || public key
  std::array<uint8_t, 4> key_id{};
};

struct NoteVerifier {
  std::string name;
  std::array<uint8_t, 4> key_id{};
  std::array<uint8_t, 32> public_key{};
};

// A key name: non-empty, no whitespace, no '+' (C2SP signed-note).
bool ValidKeyName(std::string_view name);
std::array<uint8_t, 4> KeyId(std::string_view name, const std::array<uint8_t, 32>& public_key);

Result<NoteSigner> SignerFromSeed(std::string name, const std::array<uint8_t, 32>& seed);
// "PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 || seed)>" (golang.org/x/mod/sumdb/note).
std::string FormatSignerKey(const NoteSigner& s);
Result<NoteSigner> ParseSignerKey(std::string_view text);
// "<name>+<key ID hex>+<base64(0x01 || public key)>".
std::string FormatVerifierKey(const NoteSigner& s);
Result<NoteVerifier> ParseVerifierKey(std::string_view text);

// text (ending with '\n') + '\n' + the signature line.
std::string SignNote(const NoteSigner& s, std::string_view text);
// The note's text when it carries a good signature of `v`; otherwise an
// error saying why (malformed, not signed by this key, bad signature).
Result<std::string> OpenNote(std::string_view note, const NoteVerifier& v);

struct CheckpointBody {
  std::string origin;
  uint64_t size = 0;
  crypto::Hash root{};
};
std::string FormatCheckpointBody(const CheckpointBody& c);
Result<CheckpointBody> ParseCheckpointBody(std::string_view text);

// Standard base64 with padding (RFC 4648 §4).
std::string Base64(std::string_view bytes);
std::optional<std::string> UnBase64(std::string_view text);

}  // namespace relais::tree
