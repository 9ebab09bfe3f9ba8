// GET /v1/feed: Server-Sent Events of the log as the caller may see it, from
// `?from=` or `Last-Event-ID` (which wins: EventSource reconnects to the
// same URL). Each delivered batch journals the subjects it carries, one entry
// per subject, before it is sent; if the journal fails, the stream ends with
// an error event and the batch is not sent.
#include <chrono>
#include <set>

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

void FeedLoop(State& s, const Sink& sink, const Caller& caller, Position next, bool follow) {
  if (!sink("retry: 2000\n\n")) return;
  const Position end = follow ? kPositionMax : s.engine->GetHead().position;
  bool live = false;
  auto last_send = SteadyClock::now();
  while (!s.stopping.load() && next <= end) {
    Position head_pos = s.engine->GetHead().position;
    if (next > head_pos) {
      live = true;
      if (s.engine->WaitForHead(next - 1, 1000) < next &&
          SteadyClock::now() - last_send > std::chrono::seconds(15)) {
        // A comment keeps proxies from closing an idle stream.
        if (!sink(": keepalive\n\n")) return;
        last_send = SteadyClock::now();
      }
      continue;
    }
    if (live && head_pos - next + 1 > s.options.feed_lag_max) {
      sink(ErrorEvent("feed", "too_far_behind",
                      "the consumer fell more than " + std::to_string(s.options.feed_lag_max) +
                          " events behind; reconnect with Last-Event-ID to resume"));
      return;
    }
    std::string out;
    std::set<std::string> subjects;  // of this batch: at most kFeedBatchEventsMax
    Position last = next - 1;
    size_t count = 0;
    Status st = s.engine->Scan(next, [&](const StoredEventView& v) {
      if (v.record.position > head_pos || v.record.position > end) return false;
      last = v.record.position;
      bool filtered = false;
      auto json = projections::FeedEventFor(*s.engine, caller, v, &filtered);
      if (json) {
        out += "id: " + std::to_string(v.record.position) + "\ndata: " + *json + "\n\n";
        if (v.subject.kind != StreamKind::kTerritory) subjects.insert(v.subject.text);
      }
      return ++count < kFeedBatchEventsMax && out.size() < kFeedBatchBytesMax;
    });
    if (!st.ok()) {
      sink(ErrorEvent("internal", "internal", "reading the log failed"));
      return;
    }
    for (const auto& subject : subjects) {
      if (!s.JournalText(caller, subject, "/v1/feed", true).ok()) {
        sink(ErrorEvent("unavailable", "journal_unavailable",
                        "the access journal cannot record this read; retry later"));
        return;
      }
    }
    if (!out.empty()) {
      if (!sink(out)) {
        // The send timed out: the reader is too slow. Tell it if it can still hear.
        sink(ErrorEvent("feed", "too_slow",
                        "the consumer did not read for 10 s; reconnect with Last-Event-ID to "
                        "resume"));
        return;
      }
      last_send = SteadyClock::now();
    }
    next = last + 1;
  }
}

}  // namespace

Routed RouteFeed(State& s, const Caller& caller, const Request& req, const Query& q,
                 bool follow) {
  (void)s;
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
  r.kind = Routed::Kind::kStream;
  r.content_type = "text/event-stream";
  r.extra_headers = "Cache-Control: no-cache\r\n";
  r.stream = [c = caller, from, follow](State& s, const Sink& sink) {
    ++s.metrics.feed_subscribers;
    FeedLoop(s, sink, c, from, follow);
    --s.metrics.feed_subscribers;
  };
  return r;
}

}  // namespace relais::server
