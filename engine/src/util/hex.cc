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

}  // namespace relais
