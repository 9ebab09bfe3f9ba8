#include "sink/feed_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace relais::sink {

FeedConnection::~FeedConnection() {
  if (fd_ >= 0) ::close(fd_);
}

Status FeedConnection::Open(const FeedUrl& url, const std::string& token, Position from,
                            int* status, std::string* body, const std::atomic<bool>& stop) {
  *status = 0;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(url.port);
  if (int rc = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return Status::IoError("cannot resolve " + url.host + ": " + ::gai_strerror(rc));
  for (addrinfo* a = res; a && fd_ < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      fd_ = fd;
    } else {
      ::close(fd);
    }
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) return Status::IoError("cannot connect to " + url.host + ":" + port);
  std::string req = "GET /v1/feed?from=" + std::to_string(from) + " HTTP/1.1\r\nHost: " + url.host +
                    ":" + port + "\r\nAuthorization: Bearer " + token +
                    "\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n";
  for (size_t sent = 0; sent < req.size();) {
    ssize_t n = ::send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return Status::IoError("the server closed the connection");
    sent += static_cast<size_t>(n);
  }
  size_t end;
  while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
    if (raw_.size() > kFeedHeaderBytesMax)
      return Status::IoError("the server's response head is over 64 KiB");
    RETURN_IF_ERROR(Fill(stop, 30000));
  }
  std::string head = raw_.substr(0, end);
  raw_.erase(0, end + 4);
  if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0)
    return Status::IoError("the server's answer is not HTTP");
  *status = std::atoi(head.c_str() + 9);
  std::string lower;
  for (char c : head) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  chunked_ = lower.find("transfer-encoding: chunked") != std::string::npos;
  if (*status != 200) {
    // The error body (a JSON error object), for the message.
    for (int i = 0; i < 20 && raw_.size() < 4096; ++i)
      if (!Fill(stop, 200).ok()) break;
    Decode();
    *body = body_.substr(0, 1024);
  }
  return Status::Ok();
}

Result<FeedEvent> FeedConnection::Next(const std::atomic<bool>& stop, int64_t idle_ms) {
  FeedEvent e;
  bool any = false;
  for (;;) {
    size_t nl;
    // What the response head's read brought along goes first.
    Decode();
    while ((nl = body_.find('\n', line_start_)) == std::string::npos) {
      if (body_.size() - line_start_ > kFeedLineBytesMax)
        return Status::IoError("an SSE line of the feed is over 2 MiB");
      RETURN_IF_ERROR(Fill(stop, idle_ms));
      Decode();
    }
    std::string_view line(body_.data() + line_start_, nl - line_start_);
    line_start_ = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (line_start_ > (1 << 20)) {
        body_.erase(0, line_start_);
        line_start_ = 0;
      }
      if (any) return e;
      continue;
    }
    if (line[0] == ':') continue;  // a keep-alive comment
    size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    if (field == "id") {
      e.position = std::strtoull(std::string(value).c_str(), nullptr, 10);
    } else if (field == "data") {
      if (any && !e.data.empty()) e.data += '\n';
      e.data += value;
      any = true;
    } else if (field == "event") {
      e.event = value;
      any = true;
    }
  }
}

Status FeedConnection::Fill(const std::atomic<bool>& stop, int64_t timeout_ms) {
  for (int64_t waited = 0;;) {
    if (stop.load()) return Status::Internal("the sink is stopping");
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, 200);
    if (rc < 0 && errno != EINTR) return Status::IoError("poll failed");
    if (rc > 0) {
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return Status::IoError("the server closed the feed");
      raw_.append(buf, static_cast<size_t>(n));
      return Status::Ok();
    }
    waited += 200;
    if (waited >= timeout_ms)
      return Status::Busy("the feed sent nothing for " + std::to_string(timeout_ms / 1000) + " s");
  }
}

void FeedConnection::Decode() {
  if (!chunked_) {
    body_ += raw_;
    raw_.clear();
    return;
  }
  for (;;) {
    if (chunk_left_ == 0) {
      size_t eol = raw_.find("\r\n");
      if (eol == std::string::npos) return;
      if (eol == 0) {  // the CRLF after a chunk's data
        raw_.erase(0, 2);
        continue;
      }
      chunk_left_ = std::strtoull(raw_.substr(0, eol).c_str(), nullptr, 16);
      raw_.erase(0, eol + 2);
      if (chunk_left_ == 0) return;  // the last chunk
    }
    size_t n = std::min(chunk_left_, raw_.size());
    if (n == 0) return;
    body_.append(raw_, 0, n);
    raw_.erase(0, n);
    chunk_left_ -= n;
  }
}

}  // namespace relais::sink
