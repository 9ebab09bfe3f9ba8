// The feed and export streams (GET /v1/feed, GET /v1/export) on the
// connection's own socket and strand, with asynchronous writes: no thread per
// stream. Each stream writes its head, then pulls the next chunk from its
// StreamSource (server/router.h) on the worker pool once the previous chunk
// is written, so a stream holds at most one chunk (docs/server.md
// "Streaming"). A reader that accepts no byte for kFeedSendTimeoutMs is
// dropped. A feed with nothing to send waits on a steady timer (about a
// second, for its keep-alive) and is woken early by the one head-watcher
// thread of the server when the log's head moves past what it waits for.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "server/router.h"
#include "server/state.h"
#include "server/tls.h"

namespace relais::server {

class StreamConnBase;
template <class Stream>
class StreamConn;

// The open streams of one server. Owns their count (capped at
// kFeedSubscribersMax), a table of the open ones (to end them at shutdown),
// the table of feeds waiting for the head and the thread that watches it.
// Every member is under mu_; any thread may call in.
class Streams {
 public:
  Streams(State& s, boost::asio::thread_pool& workers);
  ~Streams();  // StopAll(0) if not done: the watcher thread is joined
  Streams(const Streams&) = delete;
  Streams& operator=(const Streams&) = delete;

  // Counts one stream against the cap; false when full or stopped (the
  // caller answers 503). Each true is followed by one Start() or Unreserve().
  bool Reserve();
  void Unreserve();
  // Takes over `stream` (its socket and its strand, with no operation
  // pending) and its reserved slot: writes `head`, then the chunks of
  // `source` until it ends, the reader stops reading, or StopAll. The slot
  // is freed when the stream has ended and its last operation completed.
  void Start(PlainStream stream, std::string head, std::unique_ptr<StreamSource> source);
  // The same over TLS; `keep` (the connection's TLS context) lives as long
  // as the stream. A stream that ends (an export's last byte) sends the TLS
  // close, so that the reader can tell the end from a cut.
  void Start(TlsStream stream, std::shared_ptr<void> keep, std::string head,
             std::unique_ptr<StreamSource> source);

  // Refuses new streams, ends every open one (its socket closed on its
  // strand: the reader sees the connection end) and waits up to `timeout`
  // for all of them to be gone. True when none is left. The io threads must
  // still run. Then stops the head watcher.
  bool StopAll(std::chrono::milliseconds timeout);

  size_t open() const;

 private:
  template <class Stream>
  friend class StreamConn;
  void Open(std::shared_ptr<StreamConnBase> conn, uint64_t id);
  uint64_t NextId();
  // A stream's last reference went: frees its slot.
  void Ended(uint64_t id);
  // Calls `wake` (on the watcher thread, or at once) when the head is past
  // `after`; one entry per stream, replaced by the next call.
  void WatchHead(uint64_t id, Position after, std::function<void()> wake);
  void Unwatch(uint64_t id);
  void WatchLoop();
  void StopWatcher();

  State& s_;
  boost::asio::thread_pool& workers_;
  mutable std::mutex mu_;
  std::condition_variable ended_cv_;
  std::condition_variable watch_cv_;
  size_t count_ = 0;  // reserved + started, not yet ended
  uint64_t next_id_ = 1;
  bool stopped_ = false;
  std::unordered_map<uint64_t, std::weak_ptr<StreamConnBase>> open_;
  struct Watch {
    Position after;
    std::function<void()> wake;
  };
  std::unordered_map<uint64_t, Watch> watch_;  // at most one per open stream
  Position seen_ = 0;                          // the head the watcher last saw
  bool watcher_stopped_ = false;
  std::thread watcher_;
};

}  // namespace relais::server
