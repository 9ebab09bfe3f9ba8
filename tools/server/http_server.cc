#include "server/http_server.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <thread>

#include "relais/engine.h"
#include "relais/json_writer.h"
#include "relais/projections/report.h"
#include "relais/projections/views.h"
#include "relais/projections/visibility.h"
#include "server/access_journal.h"
#include "server/metrics.h"
#include "server/token_store.h"

namespace relais::server {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using projections::Caller;
using projections::Role;
using SteadyClock = std::chrono::steady_clock;

// Beast's own ceiling on the request head; the finer 414/431 limits are
// checked on the parsed head so each gets its own status.
constexpr size_t kHeadParseBytesMax = 64 << 10;
constexpr size_t kExportChunkBytes = 64 << 10;

struct Response {
  http::status status = http::status::ok;
  std::string content_type = "application/json";
  std::string body;
  bool close = false;
};

Response Error(http::status status, std::string_view kind, std::string_view code,
               std::string_view message, const std::optional<std::string>& id = std::nullopt,
               std::optional<int64_t> current_version = std::nullopt) {
  JsonWriter w;
  w.BeginObject();
  w.Key("error").BeginObject();
  w.Key("kind").String(kind);
  w.Key("code").String(code);
  w.Key("message").String(message);
  w.Key("id");
  if (id) {
    w.String(*id);
  } else {
    w.Null();
  }
  if (current_version) w.Key("currentVersion").Int(*current_version);
  w.EndObject();
  w.EndObject();
  Response r;
  r.status = status;
  r.body = w.Take();
  r.body.push_back('\n');
  return r;
}

Response Json(std::string body, http::status status = http::status::ok) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.body.push_back('\n');
  return r;
}

std::string PercentDecode(std::string_view s, bool plus_is_space, bool* ok) {
  auto hex = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 1 < s.size() ? hex(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? hex(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        *ok = false;
        return out;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

using Query = std::vector<std::pair<std::string, std::string>>;

bool ParseQuery(std::string_view q, Query* out) {
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    bool ok = true;
    std::string k = PercentDecode(part.substr(0, eq), true, &ok);
    std::string v =
        eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1), true, &ok);
    if (!ok) return false;
    out->emplace_back(std::move(k), std::move(v));
  }
  return true;
}

std::optional<std::string> Param(const Query& q, std::string_view key) {
  for (const auto& [k, v] : q)
    if (k == key) return v;
  return std::nullopt;
}

std::string ActorOrg(const Caller& c) {
  if (!c.org.empty()) return c.org;
  if (!c.territory.empty()) return c.territory;
  return "-";
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // closed, or SO_SNDTIMEO passed: a reader that stopped reading
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Completes appends when the engine's futures are ready, off the io threads.
// The engine acknowledges requests in submission order, so waiting on the
// oldest first never holds a ready one for long.
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

// Everything the handlers share. Outlives every session and thread.
struct State {
  ServerOptions options;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<AccessJournal> journal;
  std::unique_ptr<TokenStore> tokens;
  std::string pseudonym_key;
  Metrics metrics;
  std::unique_ptr<net::thread_pool> workers;
  std::unique_ptr<Waiter> waiter;
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> in_flight_writes{0};
  // Threads that own a detached socket (feeds, exports).
  std::mutex streams_mu;
  std::condition_variable streams_cv;
  int64_t streams = 0;

  void Journal(const Caller& c, const Subject& subject, std::string_view endpoint, bool allowed) {
    if (subject.kind == StreamKind::kTerritory) return;  // not a household's or dwelling's data
    AccessEntry e{
        SystemClock()->Now(),  c.name, std::string(projections::RoleName(c.role)), subject.text,
        std::string(endpoint), allowed};
    Status st = journal->Record(e);
    if (!st.ok()) std::fprintf(stderr, "relais serve: %s\n", st.message().c_str());
  }
};

Date Today() { return UtcDate(SystemClock()->Now()); }

// Parses asOf / knownAt; an error response when one is bad.
std::optional<Response> ParseViewTime(const Query& q, projections::ViewTime* t) {
  if (auto v = Param(q, "asOf"); v && !v->empty()) {
    t->as_of = ParseDate(*v);
    if (!t->as_of)
      return Error(http::status::bad_request, "malformed", "malformed",
                   "asOf: '" + *v + "' is not a date YYYY-MM-DD");
  }
  if (auto v = Param(q, "knownAt"); v && !v->empty()) {
    t->known_at = ParseTimestamp(*v);
    if (!t->known_at)
      return Error(http::status::bad_request, "malformed", "malformed",
                   "knownAt: '" + *v + "' is not an RFC 3339 UTC instant");
  }
  return std::nullopt;
}

Response Forbidden(std::string_view message) {
  return Error(http::status::forbidden, "forbidden", "forbidden", message);
}

Response Internal(const Status& st) {
  return Error(http::status::internal_server_error, "internal", "internal", st.message());
}

Response NotFound(const Subject& s) {
  return Error(http::status::not_found, "not_found", "not_found",
               "no event of " + s.text + " is known at that time");
}

// GET /v1/streams/{subject}/status|events
Response StreamRead(State& s, const Caller& caller, const Subject& subject, bool status,
                    const Query& q) {
  projections::ViewTime t;
  if (auto bad = ParseViewTime(q, &t)) return *bad;
  const char* endpoint = status ? "/v1/streams/status" : "/v1/streams/events";
  auto view = status ? projections::StatusFor(*s.engine, caller, subject, t, Today())
                     : projections::HistoryFor(*s.engine, caller, subject, t.known_at);
  if (!view.ok()) {
    if (view.status().code() == StatusCode::kNotFound) {
      s.Journal(caller, subject, endpoint, true);
      return NotFound(subject);
    }
    return Internal(view.status());
  }
  bool allowed = view->access != projections::Access::kForbidden;
  s.Journal(caller, subject, endpoint, allowed);
  if (!allowed) return Forbidden("the token may not read " + subject.text);
  return Json(std::move(view->json));
}

Response Report(State& s, const Caller& caller, const Query& q) {
  if (!projections::MayReadReports(caller)) return Forbidden("the token may not read reports");
  projections::ViewTime t;
  if (auto bad = ParseViewTime(q, &t)) return *bad;
  std::string format = Param(q, "format").value_or("json");
  if (format.empty()) format = "json";
  projections::ReportFormat f;
  Response r;
  if (format == "json") {
    f = projections::ReportFormat::kJson;
  } else if (format == "csv") {
    f = projections::ReportFormat::kCsv;
    r.content_type = "text/csv; charset=utf-8";
  } else if (format == "md") {
    f = projections::ReportFormat::kMarkdown;
    r.content_type = "text/markdown; charset=utf-8";
  } else if (format == "html") {
    f = projections::ReportFormat::kHtml;
    r.content_type = "text/html; charset=utf-8";
  } else {
    return Error(http::status::bad_request, "malformed", "malformed",
                 "format: '" + format + "' is not one of json, csv, md, html");
  }
  auto report = projections::ComputeReport(*s.engine, {t, Today()});
  if (!report.ok()) return Internal(report.status());
  if (f == projections::ReportFormat::kHtml) {
    int y, m, d;
    CivilFromDate(report->as_of, &y, &m, &d);
    Date first = AddMonthsClamped(DateFromCivil(y, m, 1), -23);
    auto rows = projections::ComputeSeries(*s.engine, first, report->as_of, t.known_at);
    if (!rows.ok()) return Internal(rows.status());
    r.body = projections::RenderHtml(*report, *rows);
  } else {
    r.body = projections::RenderReport(*report, f);
  }
  return r;
}

Response Verify(State& s, const Caller& caller) {
  if (!projections::MayVerify(caller)) return Forbidden("the token may not run verify");
  VerifyReport r = s.engine->Verify({});
  return Json(projections::VerifyJson(*s.engine, &r));
}

Response Audit(State& s, const Caller& caller, const Query& q) {
  if (caller.role != Role::kAuditor && caller.role != Role::kAdmin)
    return Forbidden("only auditors read the access journal");
  std::optional<Timestamp> from, to;
  for (const char* key : {"from", "to"}) {
    auto v = Param(q, key);
    if (!v || v->empty()) continue;
    auto ts = ParseTimestamp(*v);
    if (!ts)
      return Error(http::status::bad_request, "malformed", "malformed",
                   std::string(key) + ": '" + *v + "' is not an RFC 3339 UTC instant");
    (std::string_view(key) == "from" ? from : to) = ts;
  }
  auto json = s.journal->QueryJson(Param(q, "subject").value_or(""), from, to);
  if (!json.ok()) return Internal(json.status());
  return Json(std::move(*json));
}

Response AppendResponse(State& s, const AppendOutcome& o) {
  switch (o.kind) {
    case AppendOutcome::Kind::kAccepted:
    case AppendOutcome::Kind::kDuplicate: {
      int64_t fresh = 0;
      JsonWriter w;
      w.BeginObject();
      w.Key("results").BeginArray();
      for (const auto& r : o.results) {
        if (!r.duplicate) ++fresh;
        w.BeginObject();
        w.Key("id").String(r.id);
        w.Key("position").Uint(r.position);
        w.Key("version").Int(r.version);
        w.Key("duplicate").Bool(r.duplicate);
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
      s.metrics.Appended(fresh);
      return Json(w.Take(), http::status::created);
    }
    case AppendOutcome::Kind::kRefused: {
      const Refusal& r = o.refusal;
      s.metrics.Refusal(r.code);
      http::status st = r.kind == "malformed"  ? http::status::bad_request
                        : r.kind == "conflict" ? http::status::conflict
                                               : http::status::unprocessable_entity;
      std::optional<int64_t> cv;
      if (r.current_version) cv = static_cast<int64_t>(*r.current_version);
      return Error(st, r.kind, r.code, r.message, r.id, cv);
    }
    case AppendOutcome::Kind::kError:
      break;
  }
  s.metrics.Refusal("engine_error");
  if (o.error.code() == StatusCode::kResourceExhausted)
    return Error(http::status::service_unavailable, "unavailable", "busy", o.error.message());
  return Internal(o.error);
}

// ---------------------------------------------------------------------------
// Detached streams: the feed and the export write with blocking sends from
// their own thread, so a slow reader only ever holds its own thread.

void FeedLoop(State& s, int fd, const Caller& caller, Position next) {
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Connection: close\r\n\r\nretry: 2000\n\n";
  if (!SendAll(fd, head)) return;
  bool live = false;
  auto last_send = SteadyClock::now();
  while (!s.stopping.load()) {
    Position head_pos = s.engine->GetHead().position;
    if (next > head_pos) {
      live = true;
      if (s.engine->WaitForHead(next - 1, 1000) < next &&
          SteadyClock::now() - last_send > std::chrono::seconds(15)) {
        // A comment keeps proxies from closing an idle stream.
        if (!SendAll(fd, ": keepalive\n\n")) return;
        last_send = SteadyClock::now();
      }
      continue;
    }
    if (live && head_pos - next + 1 > s.options.feed_lag_max) {
      std::string msg =
          "event: error\ndata: {\"error\":{\"kind\":\"feed\",\"code\":\"too_far_behind\","
          "\"message\":\"the consumer fell more than " +
          std::to_string(s.options.feed_lag_max) +
          " events behind; reconnect with Last-Event-ID to resume\"}}\n\n";
      SendAll(fd, msg);
      return;
    }
    std::string out;
    Position last = next - 1;
    size_t count = 0;
    Status st = s.engine->Scan(next, [&](const StoredEventView& v) {
      if (v.record.position > head_pos) return false;
      last = v.record.position;
      bool filtered = false;
      auto json = projections::FeedEventFor(*s.engine, caller, v, &filtered);
      if (json) {
        out += "id: " + std::to_string(v.record.position) + "\ndata: " + *json + "\n\n";
      }
      return ++count < 512 && out.size() < (1 << 20);
    });
    if (!st.ok()) {
      SendAll(fd,
              "event: error\ndata: {\"error\":{\"kind\":\"internal\",\"code\":\"internal\","
              "\"message\":\"reading the log failed\"}}\n\n");
      return;
    }
    if (!out.empty()) {
      if (!SendAll(fd, out)) {
        // The send timed out: the reader is too slow. Tell it if it can still hear.
        SendAll(fd,
                "event: error\ndata: {\"error\":{\"kind\":\"feed\",\"code\":\"too_slow\","
                "\"message\":\"the consumer did not read for 10 s; reconnect with "
                "Last-Event-ID to resume\"}}\n\n");
        return;
      }
      last_send = SteadyClock::now();
    }
    next = last + 1;
  }
}

void ExportLoop(State& s, int fd, std::optional<Timestamp> known_at) {
  if (!SendAll(fd,
               "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
               "Connection: close\r\n\r\n"))
    return;
  std::string buf;
  bool ok = true;
  Status st = projections::ExportPseudonymised(*s.engine, known_at, s.pseudonym_key,
                                               [&](std::string_view line) {
                                                 buf.append(line);
                                                 if (buf.size() >= kExportChunkBytes) {
                                                   ok = SendAll(fd, buf);
                                                   buf.clear();
                                                 }
                                                 return ok && !s.stopping.load();
                                               });
  if (ok && st.ok()) SendAll(fd, buf);
}

// ---------------------------------------------------------------------------

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, State& s) : stream_(std::move(socket)), s_(s) {
    ++s_.metrics.connections;
  }
  ~Session() { --s_.metrics.connections; }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(kBodyBytesMax);
    parser_->header_limit(static_cast<std::uint32_t>(kHeadParseBytesMax));
    stream_.expires_after(std::chrono::milliseconds(kReadTimeoutMs));
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
    keep_alive_ = false;
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
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      return Close();
    }
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_method).category())
        return Send(Error(http::status::bad_request, "malformed", "bad_request",
                          "malformed HTTP request: " + ec.message()),
                    true);
      return Close();
    }
    Dispatch(parser_->get());
  }

  void Dispatch(http::request<http::string_body>& req) {
    keep_alive_ = req.keep_alive();
    std::string_view target(req.target().data(), req.target().size());
    if (target.size() > kUrlBytesMax)
      return Send(Error(http::status::uri_too_long, "malformed", "uri_too_long",
                        "the URL is longer than 8 KiB"),
                  true);
    size_t header_bytes = 0;
    for (const auto& f : req) header_bytes += f.name_string().size() + f.value().size() + 4;
    if (header_bytes > kHeaderBytesMax)
      return Send(Error(http::status::request_header_fields_too_large, "malformed",
                        "header_too_large", "the header fields exceed 16 KiB"),
                  true);
    size_t qm = target.find('?');
    std::string_view path = target.substr(0, qm);
    Query query;
    if (qm != std::string_view::npos && !ParseQuery(target.substr(qm + 1), &query))
      return Send(Error(http::status::bad_request, "malformed", "malformed",
                        "the query string has a bad percent escape"));
    const bool get = req.method() == http::verb::get;

    if (path == "/healthz") {
      route_ = "healthz";
      if (!get) return MethodNotAllowed("GET");
      return Send(Json("{\"ok\":true}"));
    }
    if (s_.stopping.load())
      return Send(Error(http::status::service_unavailable, "unavailable", "shutting_down",
                        "the server is shutting down"),
                  true);
    // Authentication.
    std::optional<Caller> caller;
    auto auth = req.find(http::field::authorization);
    if (auth != req.end()) {
      std::string_view v(auth->value().data(), auth->value().size());
      if (v.size() > 7 && (v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer "))
        caller = s_.tokens->Lookup(v.substr(7));
    }
    route_ = "other";
    if (!caller)
      return Send(
          Error(http::status::unauthorized, "unauthorized", "unauthorized",
                auth == req.end() ? "no Authorization: Bearer token" : "unknown or revoked token"));
    if (path == "/metrics") {
      route_ = "metrics";
      if (!get) return MethodNotAllowed("GET");
      Response r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = s_.metrics.Render(s_.journal->bytes(), s_.engine->GetHead().position);
      return Send(std::move(r));
    }
    if (path == "/v1/events") {
      route_ = "append";
      if (req.method() != http::verb::post) return MethodNotAllowed("POST");
      return Append(*caller, std::move(req.body()));
    }
    if (path.substr(0, 12) == "/v1/streams/") {
      std::string_view rest = path.substr(12);
      size_t slash = rest.rfind('/');
      if (slash == std::string_view::npos) return NotFoundRoute();
      std::string_view what = rest.substr(slash + 1);
      if (what != "status" && what != "events") return NotFoundRoute();
      route_ = what == "status" ? "status" : "history";
      if (!get) return MethodNotAllowed("GET");
      bool ok = true;
      std::string subject_text = PercentDecode(rest.substr(0, slash), false, &ok);
      std::string why;
      auto subject = ok ? ParseSubject(subject_text, &why) : std::nullopt;
      if (!subject)
        return Send(Error(http::status::bad_request, "malformed", "malformed",
                          "subject '" + subject_text + "': " + (ok ? why : "bad percent escape")));
      bool status = what == "status";
      return Work([c = *caller, subj = *subject, status, query](State& s) {
        return StreamRead(s, c, subj, status, query);
      });
    }
    if (path == "/v1/reports/indicators") {
      route_ = "report";
      if (!get) return MethodNotAllowed("GET");
      return Work([c = *caller, query](State& s) { return Report(s, c, query); });
    }
    if (path == "/v1/verify") {
      route_ = "verify";
      if (!get) return MethodNotAllowed("GET");
      return Work([c = *caller](State& s) { return Verify(s, c); });
    }
    if (path == "/v1/audit/access") {
      route_ = "audit";
      if (!get) return MethodNotAllowed("GET");
      return Work([c = *caller, query](State& s) { return Audit(s, c, query); });
    }
    if (path == "/v1/feed") {
      route_ = "feed";
      if (!get) return MethodNotAllowed("GET");
      if (!projections::MayReadFeed(*caller))
        return Send(Forbidden("the token may not read the feed"));
      Position from = 1;
      std::optional<std::string> from_text = Param(query, "from");
      auto last_id = req.find("Last-Event-ID");
      // Last-Event-ID wins: a browser's EventSource reconnects to the same URL.
      bool resume = last_id != req.end();
      if (resume) from_text = std::string(last_id->value().data(), last_id->value().size());
      if (from_text && !from_text->empty()) {
        char* end = nullptr;
        errno = 0;
        unsigned long long v = std::strtoull(from_text->c_str(), &end, 10);
        if (errno || *end != '\0' || (*from_text)[0] == '-')
          return Send(Error(http::status::bad_request, "malformed", "malformed",
                            std::string(resume ? "Last-Event-ID" : "from") + ": '" + *from_text +
                                "' is not a position"));
        from = resume ? v + 1 : std::max<unsigned long long>(v, 1);
      }
      AccessEntry e{
          SystemClock()->Now(), caller->name, std::string(projections::RoleName(caller->role)), "*",
          "/v1/feed",           true};
      (void)s_.journal->Record(e);
      return Detach([c = *caller, from](State& s, int fd) {
        ++s.metrics.feed_subscribers;
        FeedLoop(s, fd, c, from);
        --s.metrics.feed_subscribers;
      });
    }
    if (path == "/v1/export") {
      route_ = "export";
      if (!get) return MethodNotAllowed("GET");
      if (caller->role != Role::kEvaluator && caller->role != Role::kAdmin)
        return Send(Forbidden("only evaluators read the pseudonymised export"));
      projections::ViewTime t;
      if (auto bad = ParseViewTime(query, &t)) return Send(std::move(*bad));
      AccessEntry e{
          SystemClock()->Now(), caller->name, std::string(projections::RoleName(caller->role)), "*",
          "/v1/export",         true};
      (void)s_.journal->Record(e);
      return Detach([known_at = t.known_at](State& s, int fd) { ExportLoop(s, fd, known_at); });
    }
    return NotFoundRoute();
  }

  void NotFoundRoute() {
    route_ = "unknown";
    Send(Error(http::status::not_found, "not_found", "no_route", "no such endpoint"));
  }
  void MethodNotAllowed(const char* allow) {
    Response r = Error(http::status::method_not_allowed, "malformed", "method_not_allowed",
                       std::string("this endpoint takes ") + allow);
    Send(std::move(r));
  }

  // Runs `fn` on the worker pool and sends its response from this session's strand.
  template <typename Fn>
  void Work(Fn fn) {
    net::post(*s_.workers, [self = shared_from_this(), fn = std::move(fn)]() mutable {
      Response r;
      try {
        r = fn(self->s_);
      } catch (const std::exception& e) {
        r = Error(http::status::internal_server_error, "internal", "internal", e.what());
      }
      net::post(self->stream_.get_executor(),
                [self, r = std::move(r)]() mutable { self->Send(std::move(r)); });
    });
  }

  void Append(const Caller& caller, std::string body) {
    ++s_.in_flight_writes;
    net::post(*s_.workers, [self = shared_from_this(), caller, body = std::move(body)]() mutable {
      State& s = self->s_;
      Status allowed;
      try {
        allowed = projections::AuthoriseWrite(*s.engine, caller, body);
      } catch (const std::exception& e) {
        allowed = Status::Internal(std::string("authorisation failed: ") + e.what());
      }
      if (!allowed.ok()) {
        s.metrics.Refusal("forbidden");
        --s.in_flight_writes;
        Response r = Error(http::status::forbidden, "forbidden", "forbidden", allowed.message());
        net::post(self->stream_.get_executor(),
                  [self, r = std::move(r)]() mutable { self->Send(std::move(r)); });
        return;
      }
      AppendOptions o;
      o.actor =
          ActorInfo{caller.name, std::string(projections::RoleName(caller.role)), ActorOrg(caller)};
      o.allow_actor_in_body = false;  // the token is the actor: a body that names one is malformed
      o.allow_recorded_at = caller.role == Role::kAdmin;  // migrations only
      o.sync = true;                                      // 201 means on disk
      auto future = s.engine->AppendAsync(std::move(body), o);
      s.waiter->Add(std::move(future), [self](AppendOutcome outcome) {
        Response r = AppendResponse(self->s_, outcome);
        --self->s_.in_flight_writes;
        net::post(self->stream_.get_executor(),
                  [self, r = std::move(r)]() mutable { self->Send(std::move(r)); });
      });
    });
  }

  // Hands the socket to a thread of its own (feed, export).
  template <typename Fn>
  void Detach(Fn fn) {
    {
      std::lock_guard<std::mutex> lock(s_.streams_mu);
      if (s_.streams >= static_cast<int64_t>(kFeedSubscribersMax)) {
        return Send(Error(http::status::service_unavailable, "unavailable", "too_many_streams",
                          "too many feed or export streams are open; retry later"),
                    true);
      }
      ++s_.streams;
    }
    s_.metrics.Request(route_, 200, 0);
    stream_.expires_never();
    beast::error_code ec;
    int fd = stream_.socket().release(ec);
    if (ec || fd < 0) {
      std::lock_guard<std::mutex> lock(s_.streams_mu);
      --s_.streams;
      return;
    }
    int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{kFeedSendTimeoutMs / 1000, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    State* s = &s_;
    std::thread([s, fd, fn = std::move(fn)]() mutable {
      try {
        fn(*s, fd);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "relais serve: stream: %s\n", e.what());
      }
      ::shutdown(fd, SHUT_RDWR);
      ::close(fd);
      std::lock_guard<std::mutex> lock(s->streams_mu);
      --s->streams;
      s->streams_cv.notify_all();
    }).detach();
  }

  void Send(Response r, bool close = false) {
    auto res = std::make_shared<http::response<http::string_body>>(r.status, 11);
    res->set(http::field::server, "relais");
    res->set(http::field::content_type, r.content_type);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_ && !close && !r.close && !s_.stopping.load());
    res->prepare_payload();
    int code = static_cast<int>(r.status);
    stream_.expires_after(std::chrono::milliseconds(kWriteTimeoutMs));
    http::async_write(
        stream_, *res, [self = shared_from_this(), res, code](beast::error_code ec, size_t) {
          double secs = std::chrono::duration<double>(SteadyClock::now() - self->start_).count();
          self->s_.metrics.Request(self->route_, code, secs);
          if (ec || !res->keep_alive()) return self->Close();
          self->Read();
        });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (!drain_) return stream_.close();
    // The request was refused before its body was read (413): read and drop
    // what the client still sends for a moment, so that closing with unread
    // bytes does not reset the connection before the client reads our answer.
    drain_ = false;
    stream_.expires_after(std::chrono::seconds(2));
    Drain();
  }
  void Drain() {
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->stream_.close();
                              self->Drain();
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  State& s_;
  SteadyClock::time_point start_;
  std::string route_ = "invalid";
  bool keep_alive_ = false;
  bool drain_ = false;
  std::array<char, 16384> scratch_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::acceptor acceptor, State& s)
      : ioc_(ioc), acceptor_(std::move(acceptor)), s_(s) {}
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
    });
  }

 private:
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      if (static_cast<size_t>(s_.metrics.connections.load()) >= s_.options.connections_max) {
        // Over the cap: a short answer and close, never a silent queue.
        ++s_.metrics.connections_refused;
        static const std::string kBusy = [] {
          std::string body =
              "{\"error\":{\"kind\":\"unavailable\",\"code\":\"too_many_connections\","
              "\"message\":\"too many open connections; retry later\",\"id\":null}}\n";
          return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                 "Connection: close\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body;
        }();
        auto sock = std::make_shared<tcp::socket>(std::move(socket));
        net::async_write(*sock, net::buffer(kBusy), [sock](beast::error_code, size_t) {
          beast::error_code e;
          sock->close(e);
        });
      } else {
        std::make_shared<Session>(std::move(socket), s_)->Start();
      }
    } else if (ec == net::error::no_descriptors) {
      // Out of file descriptors: breathe rather than spin.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Accept();
  }
  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  State& s_;
};

// The installation secret of the pseudonyms: created once, kept in the data
// directory (0600), so exports stay joinable across runs.
Result<std::string> LoadPseudonymKey(const std::string& dir) {
  std::string path = dir + "/pseudonym.key";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    unsigned char key[32];
    if (RAND_bytes(key, sizeof key) != 1) {
      ::close(fd);
      return Status::Internal("no random bytes for the pseudonym key");
    }
    bool ok = ::write(fd, key, sizeof key) == static_cast<ssize_t>(sizeof key) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return Status::IoError("cannot write " + path);
  } else if (errno != EEXIST) {
    return Status::IoError("cannot create " + path + ": " + std::strerror(errno));
  }
  std::ifstream in(path, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(in)), {});
  if (key.size() != 32) return Status::Corruption(path + " is not a 32-byte key");
  return key;
}

}  // namespace

Status RunServer(const ServerOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  // Many idle connections are allowed: raise the descriptor limit to the hard one.
  rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  State s;
  s.options = options;
  Options eo;
  eo.data_dir = options.data_dir;
  ASSIGN_OR_RETURN(s.engine, Engine::Open(eo));
  RETURN_IF_ERROR(s.engine->WarmAll({}));
  ASSIGN_OR_RETURN(s.journal, AccessJournal::Open(options.data_dir));
  ASSIGN_OR_RETURN(s.pseudonym_key, LoadPseudonymKey(options.data_dir));
  s.tokens = std::make_unique<TokenStore>(options.data_dir);
  s.workers = std::make_unique<net::thread_pool>(options.worker_threads);
  s.waiter = std::make_unique<Waiter>();

  net::io_context ioc(options.io_threads);
  tcp::acceptor acceptor(ioc);
  beast::error_code ec;
  auto address = net::ip::make_address(options.address, ec);
  if (ec) return Status::InvalidArgument("--listen: '" + options.address + "' is not an address");
  tcp::endpoint endpoint(address, options.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Status::IoError("cannot listen on " + options.address + ":" +
                           std::to_string(options.port) + ": " + ec.message());
  uint16_t port = acceptor.local_endpoint().port();
  auto listener = std::make_shared<Listener>(ioc, std::move(acceptor), s);
  listener->Accept();

  std::promise<void> stop;
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) { stop.set_value(); });

  std::vector<std::thread> io;
  for (int i = 0; i < options.io_threads; ++i) io.emplace_back([&] { ioc.run(); });
  std::printf("{\"listening\": \"%s:%u\"}\n", options.address.c_str(), port);
  std::fflush(stdout);

  stop.get_future().wait();
  std::fprintf(stderr, "relais serve: stopping: finishing in-flight writes\n");
  // Graceful shutdown: no new connection, no new request; every write already
  // accepted completes (and gets its answer) before the engine closes.
  s.stopping = true;
  listener->Stop();
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(kShutdownGraceMs);
  while (s.in_flight_writes.load() > 0 && SteadyClock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  {
    // Feeds notice `stopping` within a second (their WaitForHead timeout).
    std::unique_lock<std::mutex> lock(s.streams_mu);
    s.streams_cv.wait_until(lock, deadline, [&] { return s.streams == 0; });
  }
  // Give the last answers a moment to leave the io threads.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ioc.stop();
  for (auto& t : io) t.join();
  s.workers->join();
  s.waiter->Stop();
  s.engine->Close();
  std::fprintf(stderr, "relais serve: stopped\n");
  return Status::Ok();
}

}  // namespace relais::server
