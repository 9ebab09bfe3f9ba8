#include "relais/hex.h"

#include <cstdint>

namespace relais {

void AppendHex(std::string* out, const void* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* p = static_cast<const uint8_t*>(data);
  const size_t start = out->size();
  out->resize(start + 2 * n);
  char* dst = out->data() + start;
  for (size_t i = 0; i < n; ++i) {
    dst[2 * i] = kDigits[p[i] >> 4];
    dst[2 * i + 1] = kDigits[p[i] & 15];
  }
}

std::string ToHex(const void* data, size_t n) {
  std::string out;
  AppendHex(&out, data, n);
  return out;
}

bool FromHex(std::string_view hex, void* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  auto* bytes = static_cast<unsigned char*>(out);
  for (size_t i = 0; i < n; ++i) {
    int v = 0;
    for (size_t j = 0; j < 2; ++j) {
      char c = hex[2 * i + j];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return false;
      v = v * 16 + d;
    }
    bytes[i] = static_cast<unsigned char>(v);
  }
  return true;
}

}  // namespace relais
