#include "server/streaming.h"

#include "relais/json_writer.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <array>
#include <cstdio>

namespace relais::server {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
// A feed with nothing to send pulls again after this even if the head did
// not move, so that its source can send the keep-alive (the same second as
// the WaitForHead timeout of the thread-per-feed loop before).
constexpr int64_t kWaitTickMs = 1000;
// The watcher's WaitForHead timeout: how long StopAll may wait for it.
constexpr int64_t kWatchTickMs = 200;
}  // namespace

// What Streams keeps of a stream, whatever its transport.
class StreamConnBase {
 public:
  virtual ~StreamConnBase() = default;
  // From any thread: ends the stream on its strand.
  virtual void Stop() = 0;
  virtual void Start() = 0;
};

// One stream, plain (PlainStream) or TLS (TlsStream). Everything but
// `source_` is touched on the strand only; `source_` only by the one worker
// task that a pull posts (there is never more than one: the next pull is
// posted by the completion of the write of what the previous one gave).
template <class Stream>
class StreamConn : public StreamConnBase, public std::enable_shared_from_this<StreamConn<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  using std::enable_shared_from_this<StreamConn<Stream>>::shared_from_this;
  using std::enable_shared_from_this<StreamConn<Stream>>::weak_from_this;

 public:
  StreamConn(Streams& owner, uint64_t id, Stream stream, std::shared_ptr<void> keep,
             std::string head, std::unique_ptr<StreamSource> source)
      : owner_(owner),
        id_(id),
        keep_(std::move(keep)),
        stream_(std::move(stream)),
        strand_(stream_.get_executor()),
        timer_(strand_),
        chunk_(std::move(head)),
        source_(std::move(source)) {}
  ~StreamConn() {
    source_.reset();  // the feed's subscriber count goes before the slot does
    owner_.Ended(id_);
  }

  void Start() override {
    net::dispatch(strand_, [self = shared_from_this()] {
      // The read has no deadline; the writes' expiry, set while it is
      // pending, applies to the writes only.
      Tcp(self->stream_).expires_never();
      self->ReadSome();
      self->WriteSome();
    });
  }
  void Stop() override {
    net::post(strand_, [self = shared_from_this()] { self->Finish(); });
  }

 private:
  // The timeout restarts with each write that makes progress: the reader is
  // dropped when it accepts no byte for kFeedSendTimeoutMs (as SO_SNDTIMEO
  // did), however long a large chunk takes to a slow but reading client.
  void WriteSome() {
    if (closed_) return Finish();
    Tcp(stream_).expires_after(std::chrono::milliseconds(kFeedSendTimeoutMs));
    stream_.async_write_some(
        net::buffer(chunk_.data() + written_, chunk_.size() - written_),
        [self = shared_from_this()](beast::error_code ec, size_t n) { self->OnWrite(ec, n); });
  }

  // A feed or export client sends nothing after its request: a read that
  // ends is the reader gone (closed or reset), and the stream ends now
  // rather than at its next write (an idle feed writes every 15 s, and two
  // writes are needed to see a closed peer: its slot would be held 30 s).
  // What it does send is dropped, 512 bytes at a time.
  void ReadSome() {
    reading_ = true;
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->reading_ = false;
                              if (self->close_after_read_) return self->TlsClose();
                              if (ec || self->closed_) return self->Finish();
                              self->ReadSome();
                            });
  }

  void OnWrite(beast::error_code ec, size_t n) {
    // An error here is the reader gone or beast::error::timeout (the socket
    // is then closed already): nothing more can reach it.
    if (ec || closed_) return Finish();
    written_ += n;
    if (written_ < chunk_.size()) return WriteSome();
    chunk_ = std::string();  // the memory of a 1 MiB batch goes now, not at the next one
    written_ = 0;
    Pull();
  }

  void Pull() {
    Tcp(stream_).expires_never();
    net::post(owner_.workers_, [self = shared_from_this()]() mutable {
      StreamSource::Pulled p;
      try {
        p = self->source_->Next(self->owner_.s_);
      } catch (const std::exception& e) {
        self->owner_.s_.log->Error("stream", [&](JsonWriter& w) { w.Key("error").String(e.what()); });
        p = StreamSource::End();
      }
      auto strand = self->strand_;
      net::post(strand, [self = std::move(self), p = std::move(p)]() mutable {
        self->OnPulled(std::move(p));
      });
    });
  }

  void OnPulled(StreamSource::Pulled p) {
    if (closed_) return Finish();
    switch (p.kind) {
      case StreamSource::Pulled::Kind::kEnd:
        return Finish(/*ended=*/true);
      case StreamSource::Pulled::Kind::kChunk:
        chunk_ = std::move(p.bytes);
        written_ = 0;
        if (chunk_.empty()) return Pull();
        return WriteSome();
      case StreamSource::Pulled::Kind::kWait:
        return Wait(p.after);
    }
  }

  // Nothing to send before the head passes `after`: a timer for the
  // keep-alive tick, cancelled early by the head watcher.
  void Wait(Position after) {
    timer_.expires_after(std::chrono::milliseconds(kWaitTickMs));
    timer_.async_wait([self = shared_from_this()](beast::error_code) {
      self->owner_.Unwatch(self->id_);
      if (self->closed_) return self->Finish();
      self->Pull();
    });
    std::weak_ptr<StreamConn> weak = weak_from_this();
    owner_.WatchHead(id_, after, [weak] {
      if (auto self = weak.lock()) {
        auto strand = self->strand_;
        net::post(strand, [self = std::move(self)] { self->timer_.cancel(); });
      }
    });
  }

  // Idempotent; the object goes when the last pending operation completes.
  // `ended`: the source gave its last byte (not a reader gone, nor a stop):
  // over TLS the close_notify follows, once the pending read is out of the
  // way (a TLS stream takes one read at a time, and the close reads the
  // peer's answer).
  void Finish(bool ended = false) {
    if (finished_) return;
    finished_ = closed_ = true;
    timer_.cancel();
    if constexpr (kTls) {
      if (ended) {
        if (!reading_) return TlsClose();
        close_after_read_ = true;
        beast::error_code ec;
        Tcp(stream_).socket().cancel(ec);
        return;
      }
    }
    CloseSocket();
  }
  void TlsClose() {
    if constexpr (kTls) {
      close_after_read_ = false;
      Tcp(stream_).expires_after(std::chrono::milliseconds(kTlsShutdownMs));
      stream_.async_shutdown(
          [self = shared_from_this()](beast::error_code) { self->CloseSocket(); });
    }
  }
  void CloseSocket() {
    beast::error_code ec;
    Tcp(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    Tcp(stream_).close();
  }

  Streams& owner_;
  const uint64_t id_;
  std::shared_ptr<void> keep_;  // the TLS context (before stream_, which uses it)
  Stream stream_;
  const net::any_io_executor strand_;
  net::steady_timer timer_;
  std::string chunk_;  // the one chunk being written: the stream's buffer
  size_t written_ = 0;
  std::array<char, 512> scratch_;
  bool closed_ = false;
  bool finished_ = false;
  bool reading_ = false;           // a read is pending
  bool close_after_read_ = false;  // TLS: the close waits for it
  std::unique_ptr<StreamSource> source_;
};

Streams::Streams(State& s, net::thread_pool& workers)
    : s_(s), workers_(workers), seen_(s.engine->GetHead().position) {
  watcher_ = std::thread([this] { WatchLoop(); });
}

Streams::~Streams() {
  StopAll(std::chrono::milliseconds(0));
  StopWatcher();
}

bool Streams::Reserve() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_ || count_ >= kFeedSubscribersMax) return false;
  ++count_;
  return true;
}

void Streams::Unreserve() {
  std::lock_guard<std::mutex> lock(mu_);
  --count_;
  ended_cv_.notify_all();
}

uint64_t Streams::NextId() {
  std::lock_guard<std::mutex> lock(mu_);
  return next_id_++;
}

void Streams::Open(std::shared_ptr<StreamConnBase> conn, uint64_t id) {
  bool stopped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    open_.emplace(id, conn);
    stopped = stopped_;
  }
  // Reserved before StopAll and started after: ended at once.
  if (stopped) return conn->Stop();
  conn->Start();
}

void Streams::Start(PlainStream stream, std::string head, std::unique_ptr<StreamSource> source) {
  uint64_t id = NextId();
  Open(std::make_shared<StreamConn<PlainStream>>(*this, id, std::move(stream), nullptr,
                                                 std::move(head), std::move(source)),
       id);
}

void Streams::Start(TlsStream stream, std::shared_ptr<void> keep, std::string head,
                    std::unique_ptr<StreamSource> source) {
  uint64_t id = NextId();
  Open(std::make_shared<StreamConn<TlsStream>>(*this, id, std::move(stream), std::move(keep),
                                               std::move(head), std::move(source)),
       id);
}

void Streams::Ended(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  open_.erase(id);
  watch_.erase(id);
  --count_;
  ended_cv_.notify_all();
}

bool Streams::StopAll(std::chrono::milliseconds timeout) {
  std::vector<std::shared_ptr<StreamConnBase>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    for (auto& [id, weak] : open_)
      if (auto c = weak.lock()) conns.push_back(std::move(c));
  }
  for (auto& c : conns) c->Stop();
  conns.clear();  // our references must not keep them
  bool all;
  {
    std::unique_lock<std::mutex> lock(mu_);
    all = ended_cv_.wait_for(lock, timeout, [&] { return count_ == 0; });
  }
  StopWatcher();
  return all;
}

size_t Streams::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

void Streams::WatchHead(uint64_t id, Position after, std::function<void()> wake) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // `seen_` never exceeds the real head: past `after` means moved.
    if (!watcher_stopped_ && seen_ <= after) {
      watch_[id] = Watch{after, std::move(wake)};
      watch_cv_.notify_all();
      return;
    }
  }
  wake();
}

void Streams::Unwatch(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  watch_.erase(id);
}

void Streams::WatchLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!watcher_stopped_) {
    if (watch_.empty()) {
      // No feed waits: do not wake at every commit.
      watch_cv_.wait(lock, [&] { return watcher_stopped_ || !watch_.empty(); });
      continue;
    }
    Position seen = seen_;
    lock.unlock();
    Position head = s_.engine->WaitForHead(seen, kWatchTickMs);
    lock.lock();
    if (head <= seen_) continue;
    seen_ = head;
    std::vector<std::function<void()>> wake;
    for (auto it = watch_.begin(); it != watch_.end();) {
      if (it->second.after < head) {
        wake.push_back(std::move(it->second.wake));
        it = watch_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    for (auto& w : wake) w();
    lock.lock();
  }
}

void Streams::StopWatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    watcher_stopped_ = true;
    watch_cv_.notify_all();
  }
  if (watcher_.joinable()) watcher_.join();
}

}  // namespace relais::server
