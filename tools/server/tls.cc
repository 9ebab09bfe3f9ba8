#include "server/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <boost/asio/ssl.hpp>

namespace relais::server {

namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL's queued errors, oldest first, then cleared.
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("no detail from OpenSSL") : out;
}

Status CheckFile(const char* option, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Status::InvalidArgument(std::string(option) + " " + path + ": " +
                                   std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return Status::InvalidArgument(std::string(option) + " " + path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kTlsFileBytesMax)
    return Status::InvalidArgument(std::string(option) + " " + path +
                                   ": larger than 1 MiB, not a PEM file");
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeTlsContext(const std::string& cert_file,
                                                     const std::string& key_file) {
  RETURN_IF_ERROR(CheckFile("--tls-cert", cert_file));
  RETURN_IF_ERROR(CheckFile("--tls-key", key_file));
  ERR_clear_error();
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  // TLS 1.2 at least, whatever the system's OpenSSL configuration allows.
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
    return Status::Internal("TLS: cannot require TLS 1.2: " + OpenSslErrors());
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  // No renegotiation (TLS 1.2): a client cannot make the server redo
  // handshakes on an open connection.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1)
    return Status::InvalidArgument("--tls-cert " + cert_file +
                                   ": not a PEM certificate chain: " + OpenSslErrors());
  // The key read apart from its use, so that a key that is not one and a
  // key of another certificate get their own messages.
  EVP_PKEY* pkey = nullptr;
  if (FILE* f = std::fopen(key_file.c_str(), "r")) {
    pkey = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
  }
  if (!pkey)
    return Status::InvalidArgument("--tls-key " + key_file +
                                   ": not a PEM private key (or one with a passphrase): " +
                                   OpenSslErrors());
  int used = SSL_CTX_use_PrivateKey(native, pkey);
  EVP_PKEY_free(pkey);
  if (used != 1 || SSL_CTX_check_private_key(native) != 1)
    return Status::InvalidArgument("--tls-key " + key_file + ": does not match the certificate of " +
                                   cert_file + ": " + OpenSslErrors());
  return ctx;
}

Result<std::unique_ptr<TlsContexts>> TlsContexts::Load(std::string cert_file,
                                                       std::string key_file) {
  std::unique_ptr<TlsContexts> t(new TlsContexts(std::move(cert_file), std::move(key_file)));
  ASSIGN_OR_RETURN(t->current_, MakeTlsContext(t->cert_file_, t->key_file_));
  return t;
}

std::shared_ptr<ssl::context> TlsContexts::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

Status TlsContexts::Reload() {
  ASSIGN_OR_RETURN(auto next, MakeTlsContext(cert_file_, key_file_));
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(next);
  return Status::Ok();
}

}  // namespace relais::server
