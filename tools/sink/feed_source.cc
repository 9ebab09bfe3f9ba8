// The sink's feed source (sink/feed_source.h): an SSE client of GET /v1/feed
// on plain sockets, and the replica it appends to.
#include "sink/feed_source.h"

#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "relais/json_writer.h"
#include "sink/feed_client.h"

namespace relais::sink {

namespace {

constexpr size_t kOriginLineBytes = 64 + 1 + 36 + 1;  // "<hash> <id>\n"
constexpr size_t kAppendChunkMax = 512;               // the feed's own batch

// The replica's clock: the latest recordedAt the server gave (never earlier
// than what it appends, so an instant the server stamped is never "in the
// future" here, and an erasure is stamped with the server's instant).
class ReplayClock : public Clock {
 public:
  Timestamp Now() override {
    Timestamp t;
    t.micros = micros_.load();
    return t;
  }
  void Set(Timestamp t) { micros_.store(t.micros); }

 private:
  std::atomic<int64_t> micros_{SystemClock()->Now().micros};
};

// An erased household's events come without their personal fields (absent,
// lifecycle.md §1); the replica's rules need those the event could not have
// lacked (required, or required by its other fields): placeholders, which
// the erasure later in the feed destroys with the replica's key.
std::string ErasedPlaceholders(std::string_view type, const simdjson::dom::object& data) {
  auto has = [&](const char* key) {
    simdjson::dom::element e;
    return !data[key].get(e);
  };
  auto value = [&](const char* key) {
    std::string_view v;
    if (data[key].get_string().get(v)) return std::string_view();
    return v;
  };
  std::string out;
  auto add = [&](const char* key, const char* json) {
    if (has(key)) return;
    if (!out.empty()) out += ',';
    out += "\"" + std::string(key) + "\":" + json;
  };
  if (type == "HouseholdRegistered")
    add("headOfHousehold", R"({"name":"-","birthDate":"1900-01-01"})");
  if (type == "HouseholdReferred") add("referrer", "\"-\"");
  if (type == "ReferralDecided" && value("outcome") != "accepted") add("reason", "\"-\"");
  if (type == "CalDecisionRecorded") {
    std::string_view d = value("decision");
    if (d == "attribution_conditional") add("condition", "\"-\"");
    if (d == "non_attribution" || d == "inadmissible") add("reason", "\"-\"");
  }
  if (type == "SupportResumed" || type == "EventCorrected" || type == "EventRetracted")
    add("reason", "\"-\"");
  return out;
}

// The import request of a feed envelope: what the server stored, without
// what the engine sets (position, version, hash).
Result<std::string> RequestOf(const simdjson::dom::element& env) {
  JsonWriter w;
  w.BeginObject();
  for (const char* key : {"id", "type", "subject", "effectiveDate", "recordedAt"}) {
    std::string_view v;
    if (env[key].get_string().get(v)) return Status::Corruption(std::string("no ") + key);
    w.Key(key).String(v);
  }
  simdjson::dom::object actor;
  if (env["actor"].get_object().get(actor)) return Status::Corruption("no actor");
  w.Key("actor").BeginObject();
  for (const char* key : {"id", "role", "org"}) {
    std::string_view v;
    if (actor[key].get_string().get(v)) return Status::Corruption(std::string("no actor.") + key);
    w.Key(key).String(v);
  }
  w.EndObject();
  simdjson::dom::object data;
  if (env["data"].get_object().get(data)) return Status::Corruption("no data");
  std::string text = simdjson::minify(data);
  bool erased = false;
  if (env["personalDataErased"].get_bool().get(erased)) erased = false;
  if (erased) {
    std::string_view type;
    if (env["type"].get_string().get(type)) type = "";
    std::string extra = ErasedPlaceholders(type, data);
    if (!extra.empty())
      text = text == "{}" ? "{" + extra + "}" : text.substr(0, text.size() - 1) + "," + extra + "}";
  }
  w.Key("data").Raw(text);
  w.EndObject();
  return w.Take();
}

class Feed : public LogSource {
 public:
  Feed(FeedOptions o, FeedUrl url, std::shared_ptr<ReplayClock> clock,
       std::unique_ptr<Engine> engine, int origin_fd, Position known)
      : o_(std::move(o)),
        url_(std::move(url)),
        clock_(std::move(clock)),
        engine_(std::move(engine)),
        origin_fd_(origin_fd),
        known_(known) {
    thread_ = std::thread([this] { Follow(); });
  }
  ~Feed() override {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    engine_->Close();
    ::close(origin_fd_);
  }

  Engine& engine() override { return *engine_; }
  Position Head() override { return known_.load(); }
  Result<Position> WaitForHead(Position after, int64_t timeout_ms) override {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(timeout_ms),
                 [&] { return known_.load() > after || !fatal_.ok(); });
    if (!fatal_.ok()) return fatal_;
    return known_.load();
  }
  Result<std::string> HashAt(Position p) override {
    ASSIGN_OR_RETURN(std::string line, OriginLine(p));
    return line.substr(0, 64);
  }
  std::optional<std::string> OriginIdAt(Position p) override {
    auto line = OriginLine(p);
    if (!line.ok()) return std::nullopt;
    return line->substr(65, 36);
  }

 private:
  void Log(const std::string& m) {
    if (o_.log) {
      o_.log(m);
    } else {
      std::fprintf(stderr, "relais sink: %s\n", m.c_str());
    }
  }
  void Fatal(Status st) {
    std::lock_guard<std::mutex> l(mu_);
    fatal_ = std::move(st);
    cv_.notify_all();
  }
  Result<std::string> OriginLine(Position p) {
    if (p == 0 || p > known_.load())
      return Status::NotFound("no origin hash for position " + std::to_string(p));
    std::string line(kOriginLineBytes, '\0');
    ssize_t n = ::pread(origin_fd_, line.data(), line.size(),
                        static_cast<off_t>((p - 1) * kOriginLineBytes));
    if (n != static_cast<ssize_t>(line.size()))
      return Status::IoError("reading the replica's feed-origin failed");
    return line;
  }

  // Reads the feed, reconnecting with backoff, until stop_ or a fatal error.
  void Follow() {
    int64_t backoff_ms = 100;
    while (!stop_.load()) {
      Status st = Session(&backoff_ms);
      if (stop_.load()) return;
      if (st.code() == StatusCode::kFailedPrecondition ||
          st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kCorruption) {
        Fatal(st);
        return;
      }
      Log("feed " + o_.url + ": " + st.message() + "; reconnecting in " +
          std::to_string(backoff_ms) + " ms");
      for (int64_t w = 0; w < backoff_ms && !stop_.load(); w += 50)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      backoff_ms = std::min(backoff_ms * 2, o_.backoff_max_ms);
    }
  }

  // One connection: from the last known position (checked), appending.
  Status Session(int64_t* backoff_ms) {
    const Position known = known_.load();
    FeedConnection c;
    int status = 0;
    std::string body;
    RETURN_IF_ERROR(c.Open(url_, o_.token, std::max<Position>(known, 1), &status, &body, stop_));
    if (status == 401 || status == 403)
      return Status::InvalidArgument("the server refused the feed (HTTP " + std::to_string(status) +
                                     "): use an admin token: " + body);
    if (status != 200)
      return Status::IoError("the server answered HTTP " + std::to_string(status) + ": " + body);
    std::vector<FeedEvent> pending;
    Position next = known + 1;
    for (;;) {
      // Append what came when the socket has nothing more right now.
      auto e = c.Next(stop_, pending.empty() ? 30000 : 0);
      if (!e.ok() && e.status().code() == StatusCode::kBusy && !pending.empty()) {
        RETURN_IF_ERROR(Flush(pending));
        continue;
      }
      if (!e.ok()) {
        Status flushed = Flush(pending);
        if (!flushed.ok()) return flushed;
        // 30 s of silence: the connection is dead (a reconnection).
        if (e.status().code() == StatusCode::kBusy) return Status::IoError(e.status().message());
        return e.status();
      }
      *backoff_ms = 100;
      if (e->event == "error") {
        RETURN_IF_ERROR(Flush(pending));
        return Status::IoError("the feed ended with an error: " + e->data.substr(0, 512));
      }
      if (e->position == known && known > 0) {
        // The last position the replica holds: the same server's log?
        ASSIGN_OR_RETURN(std::string have, HashAt(known));
        if (e->data.find("\"hash\":\"" + have + "\"") == std::string::npos)
          return Status::FailedPrecondition(
              "the server's event at position " + std::to_string(known) +
              " is not the replica's (another server's log?): use an empty --replica directory");
        continue;
      }
      if (e->position > next)
        return Status::InvalidArgument(
            "the feed skipped positions " + std::to_string(next) + " to " +
            std::to_string(e->position - 1) +
            ": this token's role does not read every event; use an admin token");
      if (e->data.find("\"filtered\":true") != std::string::npos)
        return Status::InvalidArgument("the feed hides fields of event " +
                                       std::to_string(e->position) +
                                       " from this token; use an admin token");
      if (e->position != next)
        return Status::Corruption("the feed gave position " + std::to_string(e->position) +
                                  " where " + std::to_string(next) + " was due");
      ++next;
      pending.push_back(std::move(*e));
      if (pending.size() >= kAppendChunkMax) RETURN_IF_ERROR(Flush(pending));
    }
  }

  // Appends the pending events to the replica (an erasure through Erase),
  // makes them durable, then records their origin hashes and ids.
  Status Flush(std::vector<FeedEvent>& pending) {
    if (pending.empty()) return Status::Ok();
    std::string origin;
    std::vector<std::string> requests;
    std::vector<Position> positions;
    simdjson::dom::parser parser;
    auto append = [&]() -> Status {
      if (requests.empty()) return Status::Ok();
      AppendOptions ao;
      ao.allow_actor_in_body = true;
      ao.allow_recorded_at = true;
      ao.sync = false;
      auto futures = engine_->AppendManyAsync(std::move(requests), ao);
      requests.clear();
      for (size_t i = 0; i < futures.size(); ++i) {
        AppendOutcome out = futures[i].get();
        if (out.kind != AppendOutcome::Kind::kAccepted || out.results.size() != 1 ||
            out.results[0].position != positions[i])
          return Status::FailedPrecondition(
              "the replica did not take the server's event at position " +
              std::to_string(positions[i]) + ": " +
              (out.kind == AppendOutcome::Kind::kRefused
                   ? out.refusal.code + " " + out.refusal.message
               : out.kind == AppendOutcome::Kind::kDuplicate
                   ? std::string("its id is already in the replica")
                   : out.error.message()));
      }
      positions.clear();
      return Status::Ok();
    };
    for (const FeedEvent& e : pending) {
      simdjson::dom::element env;
      if (parser.parse(e.data).get(env))
        return Status::Corruption("the feed's event " + std::to_string(e.position) +
                                  " is not JSON");
      std::string_view hash, id, type, recorded, subject, effective;
      if (env["hash"].get_string().get(hash) || env["id"].get_string().get(id) ||
          env["type"].get_string().get(type) || env["recordedAt"].get_string().get(recorded) ||
          env["subject"].get_string().get(subject) ||
          env["effectiveDate"].get_string().get(effective) || hash.size() != 64 || id.size() != 36)
        return Status::Corruption("the feed's event " + std::to_string(e.position) +
                                  " is not an envelope");
      auto at = ParseTimestamp(recorded);
      if (!at) return Status::Corruption("bad recordedAt at " + std::to_string(e.position));
      clock_->Set(*at);
      origin += std::string(hash) + " " + std::string(id) + "\n";
      if (e.position <= engine_->GetHead().position) {
        // Already in the replica (a stop between its events and their
        // origin lines): the same event, or another server's log.
        std::string stored_id, stored_type;
        RETURN_IF_ERROR(engine_->Scan(e.position, [&](const StoredEventView& v) {
          stored_id = FormatUuid(v.record.id);
          stored_type = EventTypeName(v.record.type);
          return false;
        }));
        if (stored_type != type || (type != "PersonalDataErased" && stored_id != id))
          return Status::FailedPrecondition(
              "the server's event at position " + std::to_string(e.position) +
              " is not the replica's (another server's log?): use an empty --replica directory");
        continue;
      }
      if (type == "PersonalDataErased") {
        RETURN_IF_ERROR(append());
        std::string_view reason_name;
        if (env["data"]["reason"].get_string().get(reason_name)) reason_name = "";
        auto reason = ErasureReasonFromName(reason_name);
        simdjson::dom::object actor;
        ActorInfo who;
        if (!env["actor"].get_object().get(actor)) {
          std::string_view v;
          if (!actor["id"].get_string().get(v)) who.id = v;
          if (!actor["role"].get_string().get(v)) who.role = v;
          if (!actor["org"].get_string().get(v)) who.org = v;
        }
        std::string why;
        auto subj = ParseSubject(subject, &why);
        auto date = ParseDate(effective);
        if (!subj || !date)
          return Status::Corruption("bad erasure at " + std::to_string(e.position));
        AppendOutcome out =
            engine_->Erase(*subj, reason.value_or(ErasureReason::kOther), who, *date);
        if (out.kind != AppendOutcome::Kind::kAccepted || out.results.empty() ||
            out.results[0].position != e.position)
          return Status::FailedPrecondition("the replica did not take the server's erasure at " +
                                            std::to_string(e.position) + ": " +
                                            out.refusal.message + out.error.message());
        continue;
      }
      ASSIGN_OR_RETURN(std::string req, RequestOf(env));
      requests.push_back(std::move(req));
      positions.push_back(e.position);
    }
    RETURN_IF_ERROR(append());
    RETURN_IF_ERROR(engine_->Sync());
    // The origin lines after the events: a crash between the two leaves
    // events without a line, which the next open truncates to the lines.
    const Position first = pending.front().position;
    if (::pwrite(origin_fd_, origin.data(), origin.size(),
                 static_cast<off_t>((first - 1) * kOriginLineBytes)) !=
            static_cast<ssize_t>(origin.size()) ||
        ::fdatasync(origin_fd_) != 0)
      return Status::IoError("writing the replica's feed-origin failed");
    {
      std::lock_guard<std::mutex> l(mu_);
      known_.store(pending.back().position);
      cv_.notify_all();
    }
    pending.clear();
    return Status::Ok();
  }

  FeedOptions o_;
  FeedUrl url_;
  std::shared_ptr<ReplayClock> clock_;
  std::unique_ptr<Engine> engine_;
  int origin_fd_;
  std::atomic<Position> known_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  Status fatal_;
  std::thread thread_;
};

}  // namespace

Result<FeedUrl> ParseFeedUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind("https://", 0) == 0)
    return Status::InvalidArgument(
        "--url: https is not supported by the sink yet; reach the server over http (a local "
        "port, or an SSH tunnel)");
  if (url.rfind(scheme, 0) != 0)
    return Status::InvalidArgument("--url: '" + url + "' is not http://HOST:PORT");
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || rest.find('/') != std::string::npos)
    return Status::InvalidArgument("--url: '" + url + "' is not http://HOST:PORT");
  std::string port = rest.substr(colon + 1);
  char* end = nullptr;
  unsigned long p = std::strtoul(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p == 0 || p > 65535)
    return Status::InvalidArgument("--url: port '" + port + "' is not 1 to 65535");
  FeedUrl u;
  u.host = rest.substr(0, colon);
  if (u.host.size() > 2 && u.host.front() == '[' && u.host.back() == ']')
    u.host = u.host.substr(1, u.host.size() - 2);
  u.port = static_cast<uint16_t>(p);
  return u;
}

Result<std::unique_ptr<LogSource>> FeedSource(FeedOptions options) {
  ASSIGN_OR_RETURN(FeedUrl url, ParseFeedUrl(options.url));
  auto clock = std::make_shared<ReplayClock>();
  Options eo;
  eo.data_dir = options.replica_dir;
  eo.create_if_missing = true;
  eo.clock = clock;
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(eo));
  const std::string path = options.replica_dir + "/feed-origin";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot open " + path);
  off_t size = ::lseek(fd, 0, SEEK_END);
  Position lines = static_cast<Position>(size) / kOriginLineBytes;
  const Position head = engine->GetHead().position;
  // Lines beyond the head cannot be (the lines follow the synced events);
  // fewer lines than events: stopped between the two, the feed gives the
  // missing lines again (Flush checks those events' ids).
  if (lines > head) lines = head;
  if (::ftruncate(fd, static_cast<off_t>(lines * kOriginLineBytes)) != 0) {
    ::close(fd);
    return Status::IoError("cannot truncate " + path);
  }
  // The replica's clock starts at its last recordedAt.
  if (head > 0) clock->Set(engine->GetHead().recorded_at);
  return std::unique_ptr<LogSource>(std::make_unique<Feed>(std::move(options), std::move(url),
                                                           clock, std::move(engine), fd, lines));
}

}  // namespace relais::sink
