// Hashing and sealing: the only users of libsodium.
//
// Chain hash: SHA-256 (libsodium crypto_hash_sha256) over the stored bytes.
// Sealing: XChaCha20-Poly1305-IETF under a 32-byte household key, with the
// event id as associated data and a nonce derived from the event id (BLAKE2b),
// so the same event always seals to the same bytes and no two events share a
// nonce under one key (event ids are unique in the log).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "relais/hex.h"
#include "relais/types.h"

namespace relais::crypto {

using Hash = std::array<uint8_t, 32>;
using Key = std::array<uint8_t, 32>;

void InitOnce();  // sodium_init; safe to call many times
Hash Sha256(std::string_view bytes);
// The public encoder of relais/hex.h, under the names the engine already uses.
inline std::string ToHex(const uint8_t* p, size_t n) { return relais::ToHex(p, n); }
inline std::string ToHex(const Hash& h) { return relais::ToHex(h.data(), h.size()); }
Key RandomKey();
// A random (version 4) UUID: the id relais gives the events it records itself
// (PersonalDataErased).
Uuid RandomUuid();

std::string Seal(const Key& key, const Uuid& event_id, std::string_view plaintext);
std::optional<std::string> Open(const Key& key, const Uuid& event_id, std::string_view sealed);

}  // namespace relais::crypto
