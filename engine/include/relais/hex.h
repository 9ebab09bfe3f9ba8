// Lowercase hexadecimal: the one encoder (and decoder) of hashes, digests, pseudonyms,
// tokens and event ids (the CLI, the server, backups and the projections all
// print bytes through it, so they all print them the same way).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace relais {

// Appends two lowercase hex digits per byte, most significant nibble first.
void AppendHex(std::string* out, const void* data, size_t n);

std::string ToHex(const void* data, size_t n);
inline std::string ToHex(std::string_view bytes) { return ToHex(bytes.data(), bytes.size()); }

// The `n` bytes that exactly 2n lowercase hex digits spell (what ToHex
// prints); false, with `out` unspecified, for any other text.
bool FromHex(std::string_view hex, void* out, size_t n);

}  // namespace relais
