#include "server/transport.h"

#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <future>
#include <thread>

#include "relais/json_writer.h"
#include "server/handlers.h"
#include "server/router.h"
#include "server/tls.h"

namespace relais::server {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// Beast's own ceiling on the request head; the finer 414/431 limits are
// checked on the parsed head (Route) so each gets its own status.
constexpr size_t kHeadParseBytesMax = 64 << 10;

// Completes appends when the engine's futures are ready, off the io threads.
// The engine acknowledges requests in submission order, so waiting on the
// oldest first never holds a ready one for long. The queue holds at most one
// entry per connection (a session reads its next request only after its
// answer), so it is bounded by the connection cap.
class Waiter {
 public:
  Waiter() : thread_([this] { Loop(); }) {}
  ~Waiter() { Stop(); }
  void Add(std::future<AppendOutcome> f, std::function<void(AppendOutcome)> done) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.emplace_back(std::move(f), std::move(done));
    }
    cv_.notify_one();
  }
  // Completes everything queued, then stops.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto item = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      AppendOutcome o = item.first.get();
      item.second(std::move(o));
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::future<AppendOutcome>, std::function<void(AppendOutcome)>>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

Runtime::Runtime(State& state, size_t connections_max, size_t per_address_max, int worker_threads)
    : s(state),
      limits(connections_max, per_address_max),
      workers(std::make_unique<net::thread_pool>(worker_threads)),
      waiter(std::make_unique<Waiter>()),
      streams(std::make_unique<Streams>(state, *workers)) {}

Runtime::~Runtime() = default;

void Runtime::StopWaiter() { waiter->Stop(); }

namespace {

Request FromBeast(beast::http::request<beast::http::string_body>&& req) {
  Request out;
  out.method = req.method();
  out.target = std::string(req.target());
  for (const auto& f : req) out.headers.emplace_back(f.name_string(), f.value());
  out.body = std::move(req.body());
  return out;
}

}  // namespace

// One connection, plain (PlainStream) or HTTPS (TlsStream: the handshake
// first, under the head deadline; a TLS close at the end).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

 public:
  // `ctx`: the TLS context this connection keeps (null for plain).
  // `metrics_only`: a --metrics-listen connection (RouteMetricsListener).
  Session(tcp::socket socket, std::shared_ptr<net::ssl::context> ctx, Runtime& rt,
          std::string address, bool metrics_only)
      : ctx_(std::move(ctx)),
        stream_(MakeStream(std::move(socket), ctx_.get())),
        rt_(rt),
        s_(rt.s),
        address_(std::move(address)),
        metrics_only_(metrics_only) {
    ++s_.metrics.connections;
  }
  ~Session() {
    --s_.metrics.connections;
    rt_.limits.Release(address_);
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->ReadHead();
      }
    });
  }

 private:
  static Stream MakeStream(tcp::socket socket, net::ssl::context* ctx) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *ctx);
    } else {
      return Stream(std::move(socket));
    }
  }

  // TLS: the handshake must end within the head deadline, from accept (a
  // client that starts one and stalls is dropped like a slowloris).
  void Handshake() {
    Tcp(stream_).expires_after(std::chrono::milliseconds(kHeadTimeoutMs));
    stream_.async_handshake(net::ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (ec) {
                                // Counted, and said at debug level: scanners
                                // make these common, a flood of warnings.
                                ++self->s_.metrics.tls_handshake_failures;
                                self->s_.log->Log(LogLevel::kDebug, "TLS handshake failed",
                                                  [&](JsonWriter& w) {
                                                    w.Key("error").String(ec.message());
                                                  });
                                return Tcp(self->stream_).close();
                              }
                              self->ReadHead();
                            });
  }

  // Between two requests of a kept-alive connection: wait up to the idle
  // timeout for the next request's first byte, then give its head the head
  // deadline.
  void WaitForNext() {
    if (buffer_.size() > 0) return ReadHead();
    Tcp(stream_).expires_after(std::chrono::milliseconds(kIdleTimeoutMs));
    stream_.async_read_some(
        buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t n) {
          if (ec) return self->Close();
          self->buffer_.commit(n);
          self->ReadHead();
        });
  }

  // The whole head (request line and fields) must arrive within
  // kHeadTimeoutMs: a client that trickles it (slowloris) is dropped.
  void ReadHead() {
    parser_.emplace();
    parser_->body_limit(kBodyBytesMax);
    parser_->header_limit(static_cast<std::uint32_t>(kHeadParseBytesMax));
    Tcp(stream_).expires_after(std::chrono::milliseconds(kHeadTimeoutMs));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // Clients such as curl send `Expect: 100-continue` before a large body and
  // wait for the interim answer: give it, unless the head already failed (a
  // body over the limit is refused with 413 before the client sends it).
  void OnHeader(beast::error_code ec) {
    if (ec) return OnRead(ec);
    auto& req = parser_->get();
    Tcp(stream_).expires_after(std::chrono::milliseconds(kBodyTimeoutMs));
    auto expect = req.find(http::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue") &&
        !parser_->is_done()) {
      static const std::string k100 = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(k100),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return OnRead({});
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    start_ = SteadyClock::now();
    route_ = "invalid";
    route_template_ = "-";
    method_ = "-";
    token_name_.clear();
    keep_alive_ = false;
    if (parser_ && parser_->is_header_done() && parser_->get().method() != http::verb::unknown) {
      auto name = http::to_string(parser_->get().method());
      method_ = std::string_view(name.data(), name.size());
    }
    if (ec == http::error::body_limit) {
      drain_ = true;
      return Send(Error(http::status::payload_too_large, "malformed", "payload_too_large",
                        "the body is larger than 1 MiB"),
                  true);
    }
    if (ec == http::error::header_limit) {
      return Send(Error(http::status::request_header_fields_too_large, "malformed",
                        "header_too_large", "the request head is larger than 64 KiB"),
                  true);
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted ||
        ec == net::ssl::error::stream_truncated) {
      return Close();
    }
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_method).category())
        return Send(Error(http::status::bad_request, "malformed", "bad_request",
                          "malformed HTTP request: " + ec.message()),
                    true);
      return Close();
    }
    keep_alive_ = parser_->get().keep_alive();
    Request req = FromBeast(parser_->release());
    Routed r = metrics_only_ ? RouteMetricsListener(s_, req) : Route(s_, req);
    route_ = r.route;
    route_template_ = r.route_template;
    token_name_ = std::move(r.token_name);
    switch (r.kind) {
      case Routed::Kind::kRespond:
        return Send(std::move(r.response));
      case Routed::Kind::kWork:
        return Work(std::move(r.work));
      case Routed::Kind::kAppend:
        return Append(std::move(r.caller), std::move(r.body));
      case Routed::Kind::kStream:
        return Detach(std::move(r));
    }
  }

  // Runs `fn` on the worker pool and sends its response from this session's strand.
  void Work(std::function<Response(State&)> fn) {
    net::post(*rt_.workers, [self = shared_from_this(), fn = std::move(fn)]() mutable {
      Response r;
      try {
        r = fn(self->s_);
      } catch (const std::exception& e) {
        r = Internal(e.what());
      }
      self->SendFromWorker(std::move(r));
    });
  }

  void SendFromWorker(Response r) {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), r = std::move(r)]() mutable { self->Send(std::move(r)); });
  }

  void Append(projections::Caller caller, std::string body) {
    ++s_.in_flight_writes;
    net::post(*rt_.workers, [self = shared_from_this(), caller = std::move(caller),
                             body = std::move(body)]() mutable {
      auto started = StartAppend(self->s_, caller, std::move(body));
      if (auto* refused = std::get_if<Response>(&started)) {
        --self->s_.in_flight_writes;
        return self->SendFromWorker(std::move(*refused));
      }
      self->rt_.waiter->Add(std::move(std::get<std::future<AppendOutcome>>(started)),
                            [self](AppendOutcome outcome) {
                              Response r = AppendResponse(self->s_, outcome);
                              --self->s_.in_flight_writes;
                              self->SendFromWorker(std::move(r));
                            });
    });
  }

  // Hands the connection (socket and strand) to the streams (feed, export):
  // this session ends here, and with it the connection's place in the
  // connection caps; the streams have their own cap.
  void Detach(Routed r) {
    if (!rt_.streams->Reserve()) {
      return Send(Unavailable("too_many_streams",
                              "too many feed or export streams are open; retry later"),
                  true);
    }
    s_.metrics.Request(route_, 200, 0);
    LogRequest(200);
    Tcp(stream_).expires_never();
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: " + r.content_type + "\r\n" +
                       r.extra_headers + "Connection: close\r\n\r\n";
    if constexpr (kTls) {
      rt_.streams->Start(std::move(stream_), std::move(ctx_), std::move(head),
                         std::move(r.stream));
    } else {
      rt_.streams->Start(std::move(stream_), std::move(head), std::move(r.stream));
    }
  }

  void Send(Response r, bool close = false) {
    auto res = std::make_shared<http::response<http::string_body>>(r.status, 11);
    res->set(http::field::server, "relais");
    if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) res->insert(name, value);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_ && !close && !r.close && !s_.stopping.load());
    res->prepare_payload();
    int code = static_cast<int>(r.status);
    Tcp(stream_).expires_after(std::chrono::milliseconds(kWriteTimeoutMs));
    http::async_write(
        stream_, *res, [self = shared_from_this(), res, code](beast::error_code ec, size_t) {
          double secs = std::chrono::duration<double>(SteadyClock::now() - self->start_).count();
          self->s_.metrics.Request(self->route_, code, secs);
          self->LogRequest(code, secs);
          if (ec || !res->keep_alive()) return self->Close();
          self->WaitForNext();
        });
  }

  // The request's log line (server_log.h): the route's template and the
  // token's name only.
  void LogRequest(int status, double seconds = 0) {
    s_.log->Request({method_, route_template_, status, seconds, token_name_});
  }

  void Close() {
    beast::error_code ec;
    if constexpr (kTls) {
      // No read or write is pending here (the session reads only after it
      // answered): the TLS close (close_notify) can go at once, so that the
      // client knows the connection's last answer was not cut.
      if (!drain_) {
        Tcp(stream_).expires_after(std::chrono::milliseconds(kTlsShutdownMs));
        stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
          beast::error_code e;
          Tcp(self->stream_).socket().shutdown(tcp::socket::shutdown_send, e);
          Tcp(self->stream_).close();
        });
        return;
      }
    } else {
      Tcp(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
      if (!drain_) return Tcp(stream_).close();
    }
    // The request was refused before its body was read (413): read and drop
    // what the client still sends for a moment, so that closing with unread
    // bytes does not reset the connection before the client reads our answer.
    drain_ = false;
    Tcp(stream_).expires_after(std::chrono::seconds(2));
    Drain();
  }
  void Drain() {
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return Tcp(self->stream_).close();
                              self->Drain();
                            });
  }

  std::shared_ptr<net::ssl::context> ctx_;  // before stream_, which uses it
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Runtime& rt_;
  State& s_;
  std::string address_;
  SteadyClock::time_point start_;
  const char* route_ = "invalid";
  const char* route_template_ = "-";
  std::string_view method_ = "-";  // a static string (http::to_string)
  std::string token_name_;
  const bool metrics_only_;
  bool keep_alive_ = false;
  bool drain_ = false;
  std::array<char, 16384> scratch_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::acceptor acceptor, Runtime& rt, TlsContexts* tls,
           bool metrics_only)
      : ioc_(ioc),
        acceptor_(std::move(acceptor)),
        retry_(ioc),
        rt_(rt),
        tls_(tls),
        metrics_only_(metrics_only) {}
  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                             self->OnAccept(ec, std::move(socket));
                           });
  }
  void Stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->retry_.cancel();
    });
  }

 private:
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      beast::error_code pe;
      auto peer = socket.remote_endpoint(pe);
      std::string address = pe ? std::string("?") : peer.address().to_string();
      auto verdict = rt_.limits.Admit(address);
      if (verdict == ConnectionLimits::Verdict::kAdmitted) {
        if (tls_) {
          std::make_shared<Session<TlsStream>>(std::move(socket), tls_->Current(), rt_,
                                               std::move(address), metrics_only_)
              ->Start();
        } else {
          std::make_shared<Session<PlainStream>>(std::move(socket), nullptr, rt_,
                                                 std::move(address), metrics_only_)
              ->Start();
        }
      } else if (tls_) {
        // A plain-text 503 means nothing to a TLS client, and a handshake
        // is what the cap saves: closed at once (counted as refused).
        ++rt_.s.metrics.connections_refused;
        beast::error_code e;
        socket.close(e);
      } else {
        Refuse(std::move(socket), verdict == ConnectionLimits::Verdict::kAddressFull);
      }
    } else if (ec == net::error::no_descriptors) {
      // Out of file descriptors (the cap keeps us below the limit, so only
      // streams or the engine can get here): retry shortly, on a timer, so
      // that the io thread keeps serving the open connections meanwhile.
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (!e) self->Accept();
      });
      return;
    }
    Accept();
  }

  // Over a cap: a short answer and close, never a silent queue.
  void Refuse(tcp::socket socket, bool address_full) {
    ++rt_.s.metrics.connections_refused;
    static const std::string kTotal = BusyAnswer(
        "too_many_connections", "too many open connections; retry later");
    static const std::string kAddress = BusyAnswer(
        "too_many_connections_from_address", "too many open connections from your address");
    const std::string& text = address_full ? kAddress : kTotal;
    auto sock = std::make_shared<tcp::socket>(std::move(socket));
    net::async_write(*sock, net::buffer(text), [sock](beast::error_code, size_t) {
      beast::error_code e;
      sock->shutdown(tcp::socket::shutdown_send, e);
      sock->close(e);
    });
  }

  static std::string BusyAnswer(const char* code, const char* message) {
    std::string body = "{\"error\":{\"kind\":\"unavailable\",\"code\":\"" + std::string(code) +
                       "\",\"message\":\"" + message + "\",\"id\":null}}\n";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Connection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  Runtime& rt_;
  TlsContexts* tls_;  // null: plain HTTP
  const bool metrics_only_;
};

std::shared_ptr<Listener> StartListener(net::io_context& ioc, tcp::acceptor acceptor, Runtime& rt,
                                        TlsContexts* tls, bool metrics_only) {
  auto l = std::make_shared<Listener>(ioc, std::move(acceptor), rt, tls, metrics_only);
  l->Accept();
  return l;
}

void StopListener(const std::shared_ptr<Listener>& listener) { listener->Stop(); }

}  // namespace relais::server
