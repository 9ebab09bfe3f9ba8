// HTTPS for `relais serve --tls-cert FILE --tls-key FILE`: the OpenSSL
// context (TLS 1.2 at least) made from two PEM files, and its reload on
// SIGHUP. A reload builds a whole new context and swaps it in only when it
// loaded: a connection keeps the context it was accepted with, the listener
// never closes, and a bad file at reload leaves the previous certificate
// serving (a bad file at start is an error before anything opens).
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "relais/status.h"

namespace boost::asio::ssl {
class context;
}

namespace relais::server {

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// The TCP layer of either stream: its deadlines, its socket.
inline PlainStream& Tcp(PlainStream& s) { return s; }
inline PlainStream& Tcp(TlsStream& s) { return s.next_layer(); }

// How long a TLS close (close_notify, and the peer's) may take.
inline constexpr int64_t kTlsShutdownMs = 2000;
// A certificate chain or key file is a few KiB; beyond this it is not one.
inline constexpr size_t kTlsFileBytesMax = 1 << 20;

// A server context from PEM files: the chain (leaf first) and its private
// key, which must match. InvalidArgument naming the file and OpenSSL's
// reason otherwise.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeTlsContext(const std::string& cert_file,
                                                                  const std::string& key_file);

class TlsContexts {
 public:
  static Result<std::unique_ptr<TlsContexts>> Load(std::string cert_file, std::string key_file);
  // The context new connections use.
  std::shared_ptr<boost::asio::ssl::context> Current() const;
  // Reads the files again; on failure the current context stays.
  Status Reload();
  const std::string& cert_file() const { return cert_file_; }

 private:
  TlsContexts(std::string cert, std::string key) : cert_file_(std::move(cert)), key_file_(std::move(key)) {}
  const std::string cert_file_, key_file_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace relais::server
