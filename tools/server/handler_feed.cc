// GET /v1/feed: Server-Sent Events of the log as the caller may see it, from
// `?from=` or `Last-Event-ID` (which wins: EventSource reconnects to the
// same URL). Each delivered batch journals the subjects it carries, one entry
// per subject, before it is sent; if the journal fails, the stream ends with
// an error event and the batch is not sent.
#include <chrono>
#include <set>

#include "relais/projections/cloudevents.h"
#include "server/handlers.h"

namespace relais::server {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Positions are uint64 but the log never reaches 2^63: an id beyond that is a
// client error, and `id + 1` below can never wrap.
constexpr Position kPositionMax = (Position{1} << 63) - 1;
constexpr size_t kFeedBatchEventsMax = 512;
constexpr size_t kFeedBatchBytesMax = 1 << 20;

// Strict decimal: digits only (no sign, no space), at most kPositionMax.
std::optional<Position> ParsePosition(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  Position v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<Position>(c - '0');  // 19 digits < 2^64: no wrap
  }
  if (v > kPositionMax) return std::nullopt;
  return v;
}

std::string ErrorEvent(std::string_view kind, std::string_view code, std::string_view message) {
  return "event: error\ndata: {\"error\":{\"kind\":\"" + std::string(kind) + "\",\"code\":\"" +
         std::string(code) + "\",\"message\":\"" + std::string(message) + "\"}}\n\n";
}

// The feed's loop, one chunk per Next(): the `retry:` field, then batches of
// catch-up events (an empty chunk for a batch the caller sees nothing of),
// then (when following) live events as the head moves and
// a keep-alive comment after 15 s without a chunk. Owned by one stream and
// pulled by one caller at a time (server/router.h StreamSource).
class FeedSource : public StreamSource {
 public:
  // `authorized` is asked before each chunk: a stream whose token was
  // revoked, or whose session ended or expired, ends with an error event.
  // `cloudevents_source` set: each event's data is its CloudEvent
  // (projections/cloudevents.h) with that `source`.
  FeedSource(Caller caller, Position from, bool follow, std::function<bool(State&)> authorized,
             std::optional<std::string> cloudevents_source)
      : caller_(std::move(caller)),
        next_(from),
        follow_(follow),
        authorized_(std::move(authorized)),
        cloudevents_source_(std::move(cloudevents_source)) {}
  ~FeedSource() override {
    if (metrics_) --metrics_->feed_subscribers;
  }

  Pulled Next(State& s) override {
    if (!metrics_) {
      metrics_ = &s.metrics;
      ++s.metrics.feed_subscribers;
      end_ = follow_ ? kPositionMax : s.engine->GetHead().position;
      sent_chunk_ = true;
      return Chunk("retry: 2000\n\n");
    }
    // The transport pulls only once the last chunk is written: its write
    // ended now, which is when the keep-alive's 15 s start.
    if (sent_chunk_) last_send_ = SteadyClock::now();
    sent_chunk_ = false;
    if (done_) return End();
    if (authorized_ && !authorized_(s))
      return Last(ErrorEvent("unauthorized", "unauthorized",
                             "the token was revoked or the session ended; sign in again"));
    while (!s.stopping.load() && next_ <= end_) {
      Position head_pos = s.engine->GetHead().position;
      if (next_ > head_pos) {
        live_ = true;
        if (SteadyClock::now() - last_send_ > std::chrono::seconds(15)) {
          // A comment keeps proxies from closing an idle stream.
          return Send(": keepalive\n\n");
        }
        return Wait(next_ - 1);
      }
      if (live_ && head_pos - next_ + 1 > s.options.feed_lag_max) {
        return Last(ErrorEvent("feed", "too_far_behind",
                               "the consumer fell more than " +
                                   std::to_string(s.options.feed_lag_max) +
                                   " events behind; reconnect with Last-Event-ID to resume"));
      }
      std::string out;
      std::set<std::string> subjects;  // of this batch: at most kFeedBatchEventsMax
      Position last = next_ - 1;
      size_t count = 0;
      Status bad;
      Status st = s.engine->Scan(next_, [&](const StoredEventView& v) {
        if (v.record.position > head_pos || v.record.position > end_) return false;
        last = v.record.position;
        bool filtered = false;
        auto json = projections::FeedEventFor(*s.engine, caller_, v, &filtered);
        if (json && cloudevents_source_) {
          auto ce = projections::ToCloudEvent(*json, *cloudevents_source_);
          if (!ce.ok()) {
            bad = ce.status();
            return false;
          }
          json = std::move(*ce);
        }
        if (json) {
          out += "id: " + std::to_string(v.record.position) + "\ndata: " + *json + "\n\n";
          if (v.subject.kind != StreamKind::kTerritory) subjects.insert(v.subject.text);
        }
        return ++count < kFeedBatchEventsMax && out.size() < kFeedBatchBytesMax;
      });
      if (!st.ok() || !bad.ok()) return Last(ErrorEvent("internal", "internal", "reading the log failed"));
      for (const auto& subject : subjects) {
        if (!s.JournalText(caller_, subject, "/v1/feed", true).ok())
          return Last(ErrorEvent("unavailable", "journal_unavailable",
                                 "the access journal cannot record this read; retry later"));
      }
      next_ = last + 1;
      if (!out.empty()) return Send(std::move(out));
      // A whole batch the caller sees nothing of (a coordinator catching up
      // on other territories): give the worker back with an empty chunk,
      // which the transport pulls again behind the work queued meanwhile
      // (streaming.cc OnPulled), rather than scan the whole log in this
      // call on the pool every append and read share. The next pull checks
      // the caller's token and session again. Not a send: the keep-alive's
      // clock does not restart.
      if (next_ <= end_) return Chunk(std::string());
    }
    return End();
  }

 private:
  Pulled Send(std::string bytes) {
    sent_chunk_ = true;
    return Chunk(std::move(bytes));
  }
  // The stream's last chunk.
  Pulled Last(std::string bytes) {
    done_ = true;
    return Chunk(std::move(bytes));
  }

  const Caller caller_;
  Position next_;
  const bool follow_;
  std::function<bool(State&)> authorized_;
  const std::optional<std::string> cloudevents_source_;
  Position end_ = 0;
  Metrics* metrics_ = nullptr;  // set by the first Next(): the subscriber counts from then
  bool live_ = false;
  bool done_ = false;
  bool sent_chunk_ = false;
  SteadyClock::time_point last_send_;
};

}  // namespace

Routed RouteFeed(State& s, const Caller& caller, const Request& req, const Query& q,
                 bool follow) {
  Routed r;
  r.route = "feed";
  if (!projections::MayReadFeed(caller)) {
    r.response = Forbidden("the token may not read the feed");
    return r;
  }
  Position from = 1;
  std::optional<std::string> from_text = Param(q, "from");
  auto last_id = req.Header("Last-Event-ID");
  if (last_id) from_text = std::string(*last_id);
  if (from_text && !from_text->empty()) {
    auto v = ParsePosition(*from_text);
    if (!v) {
      r.response = Malformed(std::string(last_id ? "Last-Event-ID" : "from") + ": '" +
                             from_text->substr(0, 64) + "' is not a position");
      return r;
    }
    from = last_id ? *v + 1 : std::max<Position>(*v, 1);
  }
  // ?format=cloudevents: each SSE data line is a CloudEvent 1.0 (JSON
  // format) instead of the envelope; the SSE id stays the position.
  std::optional<std::string> cloudevents;
  if (auto format = Param(q, "format")) {
    if (*format == "cloudevents") {
      cloudevents = projections::InstallationSource(*s.engine);
    } else if (*format != "envelope") {
      r.response = Malformed("format: '" + format->substr(0, 64) + "' is not one of envelope, cloudevents");
      return r;
    }
  }
  r.kind = Routed::Kind::kStream;
  r.content_type = "text/event-stream";
  r.extra_headers = "Cache-Control: no-cache\r\n";
  // Who opened the stream, checked again while it runs.
  Authn authn = AuthenticateRequest(s, req);
  std::function<bool(State&)> authorized;
  if (authn.by_cookie) {
    authorized = [id = authn.session_id, hash = authn.token_sha256](State& st) {
      return st.sessions->Find(id).has_value() && st.tokens->LookupHash(hash).has_value();
    };
  } else if (!authn.token_sha256.empty()) {
    authorized = [hash = authn.token_sha256](State& st) {
      return st.tokens->LookupHash(hash).has_value();
    };
  }
  r.stream = std::make_unique<FeedSource>(caller, from, follow, std::move(authorized),
                                        std::move(cloudevents));
  return r;
}

}  // namespace relais::server
