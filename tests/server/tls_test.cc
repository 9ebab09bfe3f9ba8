// HTTPS: `relais serve --tls-cert FILE --tls-key FILE` (tools/server/tls.h)
// with self-signed certificates the test makes with the `openssl` command,
// and a real TLS client (Beast's ssl_stream over OpenSSL): status, append,
// the live feed and the export over TLS, TLS 1.1 refused, the certificate
// reloaded on SIGHUP on the same listener, bad files refused at start.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "server/server_harness.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

bool HaveOpenssl() { return std::system("openssl version >/dev/null 2>&1") == 0; }

// A self-signed certificate for localhost and 127.0.0.1 (P-256: quick).
bool MakeCert(const std::string& cert, const std::string& key, const std::string& cn) {
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                    " -days 2 -subj '/CN=" + cn + "' -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1'"
                    " -keyout '" + key + "' -out '" + cert + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

struct Answer {
  int status = 0;
  std::string body;
  std::string error;  // the failure, if any
  std::string set_cookie;
};

// One TLS connection to 127.0.0.1:port, checking the server's certificate
// against `ca` (the self-signed one). `max_version`: a TLS version to cap
// the client at (TLS1_1_VERSION...), with OpenSSL's security level 0 so that
// the client itself is willing to speak it (the refusal must be the server's).
class TlsClient {
 public:
  TlsClient(uint16_t port, const std::string& ca, int max_version = 0)
      : ctx_(ssl::context::tls_client) {
    ctx_.load_verify_file(ca);
    ctx_.set_verify_mode(ssl::verify_peer);
    if (max_version) {
      SSL_CTX_set_security_level(ctx_.native_handle(), 0);
      SSL_CTX_set_cipher_list(ctx_.native_handle(), "DEFAULT:@SECLEVEL=0");
      SSL_CTX_set_min_proto_version(ctx_.native_handle(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx_.native_handle(), max_version);
    }
    stream_.emplace(ioc_, ctx_);
    SSL_set_tlsext_host_name(stream_->native_handle(), "localhost");
    stream_->set_verify_callback(ssl::host_name_verification("localhost"));
    beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(20));
    beast::get_lowest_layer(*stream_)
        .async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                       [&](beast::error_code ec) { ec_ = ec; });
    Run();
    if (ec_) return;
    stream_->async_handshake(ssl::stream_base::client, [&](beast::error_code ec) { ec_ = ec; });
    Run();
  }
  bool ok() const { return !ec_; }
  std::string error() { return ec_.message(); }
  std::string version() { return SSL_get_version(stream_->native_handle()); }

  // The common name of the certificate the server presented.
  std::string PeerName() {
    X509* x = SSL_get1_peer_certificate(stream_->native_handle());
    if (!x) return "";
    char buf[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof buf);
    X509_free(x);
    return buf;
  }

  Answer Request(const std::string& method, const std::string& target, const std::string& body = "",
                 const std::string& token = "") {
    http::request<http::string_body> req(http::string_to_verb(method), target, 11);
    req.set(http::field::host, "localhost");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    Answer a;
    beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(30));
    http::async_write(*stream_, req, [&](beast::error_code ec, size_t) { ec_ = ec; });
    Run();
    if (ec_) return a.error = "write: " + ec_.message(), a;
    http::response<http::string_body> res;
    http::async_read(*stream_, buffer_, res, [&](beast::error_code ec, size_t) { ec_ = ec; });
    Run();
    if (ec_) return a.error = "read: " + ec_.message(), a;
    a.status = res.result_int();
    a.body = std::move(res.body());
    a.set_cookie = std::string(res[http::field::set_cookie]);
    return a;
  }

  // Sends a GET and reads the raw answer until `until` appears in it, the
  // stream ends (`*end` is then the read's error: eof after a TLS close,
  // stream_truncated for a cut) or `timeout_ms` passed.
  std::string Stream(const std::string& target, const std::string& token, const std::string& until,
                     int timeout_ms, beast::error_code* end = nullptr) {
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " +
                      token + "\r\n\r\n";
    beast::get_lowest_layer(*stream_).expires_after(std::chrono::milliseconds(timeout_ms));
    net::async_write(*stream_, net::buffer(req), [&](beast::error_code ec, size_t) { ec_ = ec; });
    Run();
    return More(until, end);
  }
  // Reads on, within the deadline Stream set.
  std::string More(const std::string& until, beast::error_code* end = nullptr) {
    while (!ec_ && (until.empty() || got_.find(until) == std::string::npos)) {
      char buf[16384];
      stream_->async_read_some(net::buffer(buf), [&](beast::error_code ec, size_t n) {
        ec_ = ec;
        got_.append(buf, n);
      });
      Run();
    }
    if (end) *end = ec_;
    return got_;
  }

 private:
  void Run() {
    ioc_.restart();
    ioc_.run();
  }
  net::io_context ioc_;
  ssl::context ctx_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
  beast::error_code ec_;
  std::string got_;
};

std::string Registered(const std::string& territory, const std::string& name) {
  return R"({"territory":")" + territory + R"(","commune":"Roubaix","adults":1,"children":0,"headOfHousehold":{"name":")" +
         name + R"(","birthDate":"1980-01-01"}})";
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveOpenssl()) GTEST_SKIP() << "no `openssl` command (scripts/install-deps.sh installs it)";
    data_ = dir_.path() + "/data";
    cert_ = dir_.path() + "/cert.pem";
    key_ = dir_.path() + "/key.pem";
    ASSERT_TRUE(MakeCert(cert_, key_, "relais-a"));
    ca_a_ = dir_.path() + "/ca-a.pem";
    std::filesystem::copy_file(cert_, ca_a_);
    admin_ = AddToken(data_, "adm", "admin");
    ASSERT_FALSE(admin_.empty());
  }
  std::vector<std::string> TlsArgs() const { return {"--tls-cert", cert_, "--tls-key", key_}; }

  TempDir dir_;
  std::string data_, cert_, key_, ca_a_, admin_;
};

TEST_F(TlsTest, StatusAppendFeedAndExportOverTls) {
  ServerProcess server(data_, TlsArgs());
  ASSERT_TRUE(server.Start());
  {
    TlsClient c(server.port(), ca_a_);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_TRUE(c.version() == "TLSv1.3" || c.version() == "TLSv1.2") << c.version();
    Answer h = c.Request("GET", "/healthz");
    EXPECT_EQ(h.status, 200) << h.error;
    EXPECT_NE(h.body.find("\"ok\":true"), std::string::npos);
    // Kept alive: a second request on the same TLS connection.
    Answer a = c.Request("POST", "/v1/events",
                         Event(Uuid(1), "HouseholdRegistered", "household/H-T1", "2024-01-10",
                               Registered("lille", "Jeanne Tls")),
                         admin_);
    EXPECT_EQ(a.status, 201) << a.body << a.error;
    Answer st = c.Request("GET", "/v1/streams/household%2FH-T1/status", "", admin_);
    EXPECT_EQ(st.status, 200) << st.body << st.error;
    EXPECT_NE(st.body.find("lille"), std::string::npos) << st.body;
  }
  // Plain HTTP on the HTTPS port gets no answer.
  EXPECT_EQ(Http(server.port(), "GET", "/healthz", "", "", {}, 5000).status, 0);

  // The feed: the past event, then one appended while it is open (live).
  TlsClient feed(server.port(), ca_a_);
  ASSERT_TRUE(feed.ok()) << feed.error();
  std::string got = feed.Stream("/v1/feed?from=1", admin_, Uuid(1), 20000);
  ASSERT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
  EXPECT_NE(got.find("text/event-stream"), std::string::npos) << got;
  ASSERT_NE(got.find(Uuid(1)), std::string::npos) << got;
  {
    TlsClient w(server.port(), ca_a_);
    Answer a = w.Request("POST", "/v1/events",
                         Event(Uuid(2), "HouseholdRegistered", "household/H-T2", "2024-01-11",
                               Registered("sud", "Paul Tls")),
                         admin_);
    EXPECT_EQ(a.status, 201) << a.body << a.error;
  }
  got = feed.More(Uuid(2));
  EXPECT_NE(got.find(Uuid(2)), std::string::npos) << got;

  // The export ends with a TLS close (eof), not a cut (stream_truncated).
  TlsClient ex(server.port(), ca_a_);
  ASSERT_TRUE(ex.ok()) << ex.error();
  beast::error_code end;
  std::string exported = ex.Stream("/v1/export", admin_, "", 20000, &end);
  EXPECT_EQ(end, net::error::eof) << end.message();
  size_t head_end = exported.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << exported;
  std::string body = exported.substr(head_end + 4);
  // Pseudonymised (no event id): both events, one line each.
  size_t lines = 0;
  for (size_t at = 0; (at = body.find("\"type\":\"HouseholdRegistered\"", at)) != std::string::npos; ++at)
    ++lines;
  EXPECT_EQ(lines, 2u) << body;
  EXPECT_EQ(server.Stop(), 0);

  // The same export over plain HTTP, byte for byte.
  ServerProcess plain(data_);
  ASSERT_TRUE(plain.Start());
  HttpResult p = Http(plain.port(), "GET", "/v1/export", "", admin_);
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, body);
  EXPECT_EQ(plain.Stop(), 0);
}

// A client that connects and never starts its handshake is dropped within
// the head deadline (5 s), like a plain one that never sends its head.
// The console's session cookie is Secure under TLS: a browser never sends
// it over plain HTTP.
TEST_F(TlsTest, TheSessionCookieIsSecureUnderTls) {
  ServerProcess server(data_, TlsArgs());
  ASSERT_TRUE(server.Start());
  TlsClient c(server.port(), ca_a_);
  ASSERT_TRUE(c.ok()) << c.error();
  Answer signed_in = c.Request("POST", "/v1/session", "{\"token\":\"" + admin_ + "\"}");
  ASSERT_EQ(signed_in.status, 201) << signed_in.body << signed_in.error;
  EXPECT_NE(signed_in.set_cookie.find("relais_session="), std::string::npos) << signed_in.set_cookie;
  EXPECT_NE(signed_in.set_cookie.find("; Secure"), std::string::npos) << signed_in.set_cookie;
}

TEST_F(TlsTest, AStalledHandshakeIsDropped) {
  ServerProcess server(data_, TlsArgs());
  ASSERT_TRUE(server.Start());
  int fd = OpenIdleConnection(server.port());
  ASSERT_GE(fd, 0);
  auto start = std::chrono::steady_clock::now();
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 15000), 1);
  char c;
  EXPECT_LE(::read(fd, &c, 1), 0);  // closed, nothing said
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(secs, 4.0);
  EXPECT_LT(secs, 10.0);
  ::close(fd);
  EXPECT_EQ(server.Stop(), 0);
}

// A handshake that fails (here: plain HTTP sent to the HTTPS port) is
// counted where an operator looks, and logged at debug level. Before: the
// connection was closed without a trace anywhere, so a client sent to the
// wrong scheme, or a certificate no client accepts, showed nothing.
TEST_F(TlsTest, AFailedHandshakeIsCounted) {
  std::vector<std::string> args = TlsArgs();
  ServerProcess server(data_, args);
  ASSERT_TRUE(server.Start());
  std::string answer = RawExchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  TlsClient c(server.port(), ca_a_);
  ASSERT_TRUE(c.ok()) << c.error();
  Answer m = c.Request("GET", "/metrics", "", admin_);
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_NE(m.body.find("\nrelais_tls_handshake_failures_total 1\n"), std::string::npos) << m.body;
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(TlsTest, Tls11IsRefused) {
  // Without the system's OpenSSL configuration: the minimum must be the
  // server's own, not the distribution's default.
  std::string empty = dir_.path() + "/openssl.cnf";
  std::ofstream(empty) << "\n";
  ::setenv("OPENSSL_CONF", empty.c_str(), 1);
  ServerProcess server(data_, TlsArgs());
  bool started = server.Start();
  ::unsetenv("OPENSSL_CONF");
  ASSERT_TRUE(started);
  TlsClient old(server.port(), ca_a_, TLS1_1_VERSION);
  EXPECT_FALSE(old.ok());
  // The server's alert, not the client giving up on its own.
  EXPECT_NE(old.error().find("protocol version"), std::string::npos) << old.error();
  // The same relaxed client capped at TLS 1.2 gets in: the refusal above
  // is about the version.
  TlsClient v12(server.port(), ca_a_, TLS1_2_VERSION);
  ASSERT_TRUE(v12.ok()) << v12.error();
  EXPECT_EQ(v12.version(), "TLSv1.2");
  EXPECT_EQ(v12.Request("GET", "/healthz").status, 200);
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(TlsTest, SighupReloadsTheCertificateOnTheSameListener) {
  ServerProcess server(data_, TlsArgs());
  ASSERT_TRUE(server.Start());
  TlsClient before(server.port(), ca_a_);
  ASSERT_TRUE(before.ok()) << before.error();
  EXPECT_EQ(before.PeerName(), "relais-a");
  EXPECT_EQ(before.Request("GET", "/healthz").status, 200);

  // A renewed certificate, written where the old one was, then SIGHUP.
  std::string cert_b = dir_.path() + "/cert-b.pem", key_b = dir_.path() + "/key-b.pem";
  ASSERT_TRUE(MakeCert(cert_b, key_b, "relais-b"));
  std::filesystem::rename(cert_b + "", cert_ + ".new");
  std::filesystem::rename(key_b, key_ + ".new");
  std::filesystem::copy_file(cert_ + ".new", cert_b);  // the client's trust anchor
  std::filesystem::rename(key_ + ".new", key_);
  std::filesystem::rename(cert_ + ".new", cert_);
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  std::string name;
  for (int i = 0; i < 100 && name != "relais-b"; ++i) {
    TlsClient c(server.port(), cert_b);
    if (c.ok()) name = c.PeerName();
    if (name != "relais-b") std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(name, "relais-b");
  // The connection opened before the reload still serves.
  EXPECT_EQ(before.Request("GET", "/healthz").status, 200);

  // A broken file at reload: the previous certificate stays.
  std::ofstream(cert_, std::ios::trunc) << "not a certificate\n";
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  TlsClient after(server.port(), cert_b);
  ASSERT_TRUE(after.ok()) << after.error();
  EXPECT_EQ(after.PeerName(), "relais-b");
  EXPECT_EQ(after.Request("GET", "/healthz").status, 200);
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(TlsTest, BadFilesAtStartAreClearErrors) {
  std::string garbage = dir_.path() + "/garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";
  std::string cert_b = dir_.path() + "/cert-b.pem", key_b = dir_.path() + "/key-b.pem";
  ASSERT_TRUE(MakeCert(cert_b, key_b, "relais-b"));
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--tls-cert", garbage, "--tls-key", key_}, "--tls-cert " + garbage + ": not a PEM certificate chain"},
      {{"--tls-cert", cert_, "--tls-key", garbage}, "--tls-key " + garbage + ": not a PEM private key"},
      {{"--tls-cert", cert_, "--tls-key", key_b}, "--tls-key " + key_b + ": does not match the certificate"},
      {{"--tls-cert", dir_.path() + "/absent.pem", "--tls-key", key_},
       "--tls-cert " + dir_.path() + "/absent.pem: No such file or directory"},
      {{"--tls-cert", dir_.path(), "--tls-key", key_}, "not a regular file"},
      {{"--tls-cert", cert_}, "--tls-cert needs --tls-key"},
      {{"--tls-key", key_}, "--tls-key needs --tls-cert"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"--data", data_, "serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    std::string out;
    EXPECT_EQ(RunRelaisWithStderr(args, &out), 2) << out;
    EXPECT_NE(out.find(c.expected), std::string::npos) << c.expected << "\n-> " << out;
    EXPECT_EQ(out.find("listening"), std::string::npos) << out;
    // --check-config says the same without serving.
    args.push_back("--check-config");
    EXPECT_EQ(RunRelaisWithStderr(args, &out), 2) << out;
    EXPECT_NE(out.find(c.expected), std::string::npos) << c.expected << "\n-> " << out;
  }
  // Good files: --check-config names them.
  std::string out;
  ASSERT_EQ(RunRelaisWithStderr({"serve", "--check-config", "--tls-cert", cert_, "--tls-key", key_}, &out), 0) << out;
  EXPECT_NE(out.find("\"tls\":{\"cert\":\"" + cert_ + "\""), std::string::npos) << out;
}

}  // namespace
}  // namespace relais::testing
