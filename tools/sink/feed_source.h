// A running server followed through its feed (GET /v1/feed, an admin
// token): the sink folds through the engine's API, so the feed's envelopes
// are appended, as the server stored them (id, recordedAt, actor, effective
// date, data, position order), into a local replica data directory, and the
// sink reads the replica.
//
//   auto src = sink::FeedSource({"http://relais:8080", token, "replica"});
//   sink::Sink s(**src, options);  // HashAt: the server's chain hash
//
// The replica's own chain hashes differ from the server's: the sealed
// personal fields are under the replica's own household keys (the chain
// covers the ciphertext). So the replica keeps, beside its log, the
// server's hash and id of each position (`DIR/feed-origin`, one line per
// position), and the sink records and checks those: sink_state's hash is the
// server's. On each connection the feed is read again from the last position
// the replica holds, whose hash must be the server's (else: another server's
// log, FailedPrecondition). An erasure is replayed with Engine::Erase (the
// replica destroys its key too), under the server's recordedAt.
//
// Threads: a follower thread reads the feed and appends; it reconnects with
// backoff (100 ms doubling to 5 s) when the server goes away.
#pragma once

#include <memory>
#include <string>

#include "sink/sink.h"

namespace relais::sink {

struct FeedOptions {
  std::string url;    // http://HOST:PORT (no path)
  std::string token;  // an admin token's secret
  std::string replica_dir;
  int64_t backoff_max_ms = 5000;
  // Messages (reconnections) for stderr; default: stderr.
  std::function<void(const std::string&)> log;
};

// Limits (docs/limits.md).
inline constexpr size_t kFeedLineBytesMax = 2 << 20;  // one SSE line (an event is at most 1 MiB)
inline constexpr size_t kFeedHeaderBytesMax = 64 << 10;

// "http://HOST:PORT" -> host and port; InvalidArgument otherwise (https:
// not supported, see docs/sink.md).
struct FeedUrl {
  std::string host;
  uint16_t port = 0;
};
Result<FeedUrl> ParseFeedUrl(const std::string& url);

// Opens (creating) the replica and starts following. The replica's
// directory is bound to one server: its feed-origin is checked at each
// connection.
Result<std::unique_ptr<LogSource>> FeedSource(FeedOptions options);

}  // namespace relais::sink
