#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstdlib>
#include <memory>
#include <mutex>

namespace relais::crypto {

void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no CSPRNG: nothing safe can follow
  });
}

Hash Sha256(std::string_view bytes) {
  // OpenSSL's SHA-256 uses the CPU's SHA extensions where there are some
  // (several times libsodium's portable code); the digest is the same.
  Hash h;
  unsigned int len = 0;
  // One context per thread, freed with the thread.
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> holder(EVP_MD_CTX_new());
  EVP_MD_CTX* ctx = holder.get();
  if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
      EVP_DigestUpdate(ctx, bytes.data(), bytes.size()) == 1 &&
      EVP_DigestFinal_ex(ctx, h.data(), &len) == 1 && len == h.size())
    return h;
  crypto_hash_sha256(h.data(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return h;
}

Uuid RandomUuid() {
  InitOnce();
  Uuid u;
  randombytes_buf(u.bytes.data(), u.bytes.size());
  u.bytes[6] = static_cast<uint8_t>((u.bytes[6] & 0x0f) | 0x40);  // version 4
  u.bytes[8] = static_cast<uint8_t>((u.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return u;
}

Key RandomKey() {
  InitOnce();
  Key k;
  crypto_aead_xchacha20poly1305_ietf_keygen(k.data());
  return k;
}

namespace {
void Nonce(const Uuid& id, unsigned char out[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES]) {
  static const unsigned char kContext[] = "relais-seal-nonce-v1";
  crypto_generichash(out, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, id.bytes.data(), 16,
                     kContext, sizeof kContext - 1);
}
}  // namespace

std::string Seal(const Key& key, const Uuid& event_id, std::string_view plaintext) {
  unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  Nonce(event_id, nonce);
  std::string out(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(out.data()), &len,
      reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
      event_id.bytes.data(), 16, nullptr, nonce, key.data());
  out.resize(len);
  return out;
}

std::optional<std::string> Open(const Key& key, const Uuid& event_id, std::string_view sealed) {
  if (sealed.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES) return std::nullopt;
  unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  Nonce(event_id, nonce);
  std::string out(sealed.size(), '\0');
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), &len, nullptr,
          reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
          event_id.bytes.data(), 16, nonce, key.data()) != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

}  // namespace relais::crypto
