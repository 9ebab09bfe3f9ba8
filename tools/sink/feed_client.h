// The SSE client of a sink following a server (sink/feed_source.h): one
// GET /v1/feed connection on a plain socket, its response head, then its
// events, de-chunked when the server uses chunked transfer coding. Internal
// to tools/sink.
#pragma once

#include <atomic>
#include <string>

#include "relais/status.h"
#include "relais/types.h"
#include "sink/feed_source.h"

namespace relais::sink {

struct FeedEvent {
  Position position = 0;
  std::string data;
  std::string event;  // "" or "message": an event; "error": the server's error
};

class FeedConnection {
 public:
  FeedConnection() = default;
  ~FeedConnection();
  FeedConnection(const FeedConnection&) = delete;
  FeedConnection& operator=(const FeedConnection&) = delete;

  // Connects and reads the response's head. `status` gets the HTTP status
  // (0: no connection); `body` the error body when it is not 200.
  Status Open(const FeedUrl& url, const std::string& token, Position from, int* status,
              std::string* body, const std::atomic<bool>& stop);
  // The next SSE event. Busy: no whole event within `idle_ms` (the server
  // sends a keep-alive every 15 s); IoError: the connection ended; Internal
  // on `stop`.
  Result<FeedEvent> Next(const std::atomic<bool>& stop, int64_t idle_ms);

 private:
  // Reads what the socket has, waiting at most `timeout_ms` (Busy after).
  Status Fill(const std::atomic<bool>& stop, int64_t timeout_ms);
  // Moves what raw_ holds into body_ (de-chunked when chunked).
  void Decode();

  int fd_ = -1;
  std::string raw_, body_;
  size_t line_start_ = 0;
  bool chunked_ = false;
  size_t chunk_left_ = 0;
};

}  // namespace relais::sink
