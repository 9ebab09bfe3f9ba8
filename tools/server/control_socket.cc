#include "server/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <streambuf>
#include <thread>

#include "relais/files.h"
#include "relais/json_writer.h"

namespace relais::server {

namespace {

constexpr int kExitHeld = 6;

std::string SocketPath(const std::string& dir) { return dir + "/" + kControlSocketName; }
std::string InfoPath(const std::string& dir) { return dir + "/" + kServeInfoName; }

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool SendFrame(int fd, char type, std::string_view payload) {
  char head[5] = {type, static_cast<char>(payload.size() >> 24), static_cast<char>(payload.size() >> 16),
                  static_cast<char>(payload.size() >> 8), static_cast<char>(payload.size())};
  return WriteAll(fd, head, sizeof head) && WriteAll(fd, payload.data(), payload.size());
}

// Reads exactly n bytes, waiting at most `idle_ms` for each piece (-1: no
// limit). False on end, error or silence.
bool ReadExact(int fd, char* p, size_t n, int idle_ms) {
  while (n > 0) {
    pollfd pfd{fd, POLLIN, 0};
    int rc = ::poll(&pfd, 1, idle_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return false;
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// One frame of at most `max` bytes; false on anything else.
bool ReadFrame(int fd, char* type, std::string* payload, size_t max, int idle_ms) {
  unsigned char head[5];
  if (!ReadExact(fd, reinterpret_cast<char*>(head), sizeof head, idle_ms)) return false;
  size_t len = (size_t{head[1]} << 24) | (size_t{head[2]} << 16) | (size_t{head[3]} << 8) | head[4];
  if (len > max) return false;
  *type = static_cast<char>(head[0]);
  payload->resize(len);
  return ReadExact(fd, payload->data(), len, idle_ms);
}

// The command's standard input: the client's 'I' frames until 'Z'. A
// client that breaks off or goes silent ends the input (the command sees a
// short file and `broken()` says why).
class FrameInput : public std::streambuf {
 public:
  explicit FrameInput(int fd) : fd_(fd) {}
  bool broken() const { return broken_; }

 protected:
  int_type underflow() override {
    while (!done_) {
      char type = 0;
      if (!ReadFrame(fd_, &type, &buf_, kControlChunkBytesMax, kControlIdleMs) ||
          (type != 'I' && type != 'Z')) {
        broken_ = done_ = true;
        break;
      }
      if (type == 'Z') {
        done_ = true;
        break;
      }
      if (buf_.empty()) continue;
      setg(buf_.data(), buf_.data(), buf_.data() + buf_.size());
      return traits_type::to_int_type(buf_[0]);
    }
    return traits_type::eof();
  }

 private:
  int fd_;
  std::string buf_;
  bool done_ = false;
  bool broken_ = false;
};

}  // namespace

const CommandOutput& StdOutput() {
  static const CommandOutput out{
      [](std::string_view s) {
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
      },
      [](std::string_view s) {
        std::fwrite(s.data(), 1, s.size(), stderr);
        std::fflush(stderr);
      }};
  return out;
}

struct ControlServer::Impl {
  Engine* engine = nullptr;
  std::string dir;
  ControlCommand command;
  int listen_fd = -1;
  std::atomic<bool> stop{false};
  std::thread acceptor;
  struct Connection {
    int fd = -1;
    std::thread thread;
    bool done = false;
  };
  std::mutex mu;  // guards `connections`
  std::vector<std::unique_ptr<Connection>> connections;
  std::atomic<size_t> active{0};

  // Joins the connections that ended (at most kControlConnectionsMax live).
  void Reap() {
    std::vector<std::unique_ptr<Connection>> ended;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& c : connections)
        if (c->done) ended.push_back(std::move(c));
      std::erase(connections, nullptr);
    }
    for (auto& c : ended) c->thread.join();
  }

  void Accept() {
    while (!stop.load()) {
      pollfd pfd{listen_fd, POLLIN, 0};
      if (::poll(&pfd, 1, 200) <= 0) continue;
      Reap();
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      if (active.load() >= kControlConnectionsMax) {
        SendFrame(fd, 'e', "relais: the server runs " + std::to_string(kControlConnectionsMax) +
                               " control commands already; try again\n");
        SendFrame(fd, 'x', std::to_string(kExitHeld));
        ::close(fd);
        continue;
      }
      ++active;
      auto conn = std::make_unique<Connection>();
      Connection* c = conn.get();
      c->fd = fd;
      std::lock_guard<std::mutex> lock(mu);
      connections.push_back(std::move(conn));
      c->thread = std::thread([this, c] {
        Serve(c->fd);
        std::lock_guard<std::mutex> l(mu);
        ::close(c->fd);
        c->fd = -1;
        c->done = true;
        --active;
      });
    }
  }

  void Serve(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    // Its owner, or root (who may read the directory anyway): docs/decisions.md.
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != ::geteuid() && cred.uid != 0)) {
      SendFrame(fd, 'e', "relais: the control socket serves only its owner (uid " +
                             std::to_string(::geteuid()) + ")\n");
      SendFrame(fd, 'x', std::to_string(kExitHeld));
      return;
    }
    char type = 0;
    std::string payload;
    if (!ReadFrame(fd, &type, &payload, kControlRequestBytesMax, kControlIdleMs) || type != 'R') return;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view name;
    simdjson::dom::array arr;
    std::vector<std::string> args;
    bool ok = parser.parse(payload).get(doc) == simdjson::SUCCESS &&
              doc["command"].get_string().get(name) == simdjson::SUCCESS &&
              doc["args"].get_array().get(arr) == simdjson::SUCCESS;
    if (ok) {
      for (auto a : arr) {
        std::string_view v;
        if (a.get_string().get(v) != simdjson::SUCCESS) ok = false;
        args.emplace_back(v);
      }
    }
    if (!ok) {
      SendFrame(fd, 'e', "relais: malformed control request\n");
      SendFrame(fd, 'x', "1");
      return;
    }
    FrameInput input_buf(fd);
    std::istream input(&input_buf);
    // The command's output and a heartbeat ('k' every kControlHeartbeatMs)
    // share the socket: the client knows the server still works on a long
    // command, and gives up on a silent one.
    std::mutex send_mu;
    auto send = [&](char type, std::string_view s) {
      std::lock_guard<std::mutex> lock(send_mu);
      do {  // pieces the client accepts
        std::string_view piece = s.substr(0, kControlChunkBytesMax);
        if (!SendFrame(fd, type, piece)) return;
        s.remove_prefix(piece.size());
      } while (!s.empty());
    };
    std::mutex beat_mu;
    std::condition_variable beat_cv;
    bool finished = false;
    std::thread heartbeat([&] {
      std::unique_lock<std::mutex> lock(beat_mu);
      while (!beat_cv.wait_for(lock, std::chrono::milliseconds(kControlHeartbeatMs),
                               [&] { return finished; }))
        send('k', "");
    });
    CommandOutput out{[&](std::string_view s) { send('o', s); },
                      [&](std::string_view s) { send('e', s); }};
    int rc = 1;
    try {
      rc = command(*engine, dir, std::string(name), args, input, out);
    } catch (const std::exception& e) {
      out.err(std::string("relais: internal failure: ") + e.what() + "\n");
    }
    if (input_buf.broken()) {
      out.err("relais: the input stopped before its end (the client broke off or went silent)\n");
      if (rc == 0) rc = 1;
    }
    {
      std::lock_guard<std::mutex> lock(beat_mu);
      finished = true;
    }
    beat_cv.notify_all();
    heartbeat.join();
    send('x', std::to_string(rc));
  }
};

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<ControlServer>> ControlServer::Start(Engine& engine, const std::string& data_dir,
                                                            const std::string& listening,
                                                            ControlCommand command) {
  auto impl = std::make_unique<Impl>();
  impl->engine = &engine;
  impl->dir = data_dir;
  impl->command = std::move(command);
  std::string path = SocketPath(data_dir);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr,
                 "relais serve: no control socket: %s is longer than a unix socket path may be; "
                 "write commands on this directory exit 6 naming this server's endpoint\n",
                 path.c_str());
  } else {
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ::unlink(path.c_str());  // a stale one: this process holds the directory
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status::IoError(std::string("control socket: ") + std::strerror(errno));
    // Owner-only from the start: no moment when another user could connect.
    mode_t old = ::umask(0177);
    int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::umask(old);
    if (rc != 0 || ::chmod(path.c_str(), 0600) != 0 || ::listen(fd, 16) != 0) {
      Status st = Status::IoError("control socket " + path + ": " + std::strerror(errno));
      ::close(fd);
      return st;
    }
    impl->listen_fd = fd;
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("pid").Int(::getpid());
  w.Key("listening").String(listening);
  w.Key("control");
  if (impl->listen_fd >= 0) {
    w.String(path);
  } else {
    w.Null();
  }
  w.EndObject();
  RETURN_IF_ERROR(files::WriteFileAtomic(InfoPath(data_dir), w.Take() + "\n", files::kPrivateFileMode));
  Impl* raw = impl.get();
  if (raw->listen_fd >= 0) raw->acceptor = std::thread([raw] { raw->Accept(); });
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

ControlServer::~ControlServer() {
  impl_->stop = true;
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  if (impl_->listen_fd >= 0) {
    ::close(impl_->listen_fd);
    ::unlink(SocketPath(impl_->dir).c_str());
  }
  std::vector<std::unique_ptr<Impl::Connection>> connections;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    // A command in progress sees its client gone; its engine work finishes.
    for (auto& c : impl_->connections)
      if (c->fd >= 0) ::shutdown(c->fd, SHUT_RDWR);
    connections.swap(impl_->connections);
  }
  for (auto& c : connections) c->thread.join();
  ::unlink(InfoPath(impl_->dir).c_str());
}

std::optional<int> RunThroughServer(const std::string& data_dir, const std::string& command,
                                    const std::vector<std::string>& args, std::istream* input) {
  std::string path = SocketPath(data_dir);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return std::nullopt;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("command").String(command);
  w.Key("args").BeginArray();
  for (const auto& a : args) w.String(a);
  w.EndArray();
  w.EndObject();
  if (!SendFrame(fd, 'R', w.str())) {
    ::close(fd);
    return std::nullopt;
  }
  // The input goes on its own thread while this one copies the answer: the
  // server writes refusals while it still reads.
  std::thread sender;
  if (input) {
    sender = std::thread([fd, input] {
      std::string chunk(64 << 10, '\0');
      while (*input) {
        input->read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        size_t n = static_cast<size_t>(input->gcount());
        if (n > 0 && !SendFrame(fd, 'I', std::string_view(chunk.data(), n))) return;
      }
      SendFrame(fd, 'Z', "");
    });
  }
  std::optional<int> rc;
  char type = 0;
  std::string payload;
  // A server working on a long command sends heartbeats; one silent for
  // kControlIdleMs is given up on (never a wait without end).
  while (ReadFrame(fd, &type, &payload, kControlChunkBytesMax, kControlIdleMs)) {
    if (type == 'o') {
      StdOutput().out(payload);
    } else if (type == 'e') {
      StdOutput().err(payload);
    } else if (type == 'x') {
      rc = std::atoi(payload.c_str());
      break;
    }
  }
  ::shutdown(fd, SHUT_RDWR);
  // The sender may be blocked reading a terminal that has more to say: the
  // answer is in, this process ends (the descriptor closes with it).
  if (sender.joinable()) sender.detach();
  if (!rc) {
    std::fprintf(stderr,
                 "relais: the server ended the control connection, or said nothing for %d s, "
                 "before the command ended\n",
                 kControlIdleMs / 1000);
    return 1;
  }
  return rc;
}

std::string ServerEndpoint(const std::string& data_dir, pid_t holder) {
  auto text = files::ReadFile(InfoPath(data_dir), 4096);
  if (!text.ok()) return "";
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  int64_t pid = 0;
  std::string_view listening;
  if (parser.parse(*text).get(doc) != simdjson::SUCCESS || doc["pid"].get_int64().get(pid) ||
      doc["listening"].get_string().get(listening) || pid != holder)
    return "";
  return "http://" + std::string(listening);
}

}  // namespace relais::server
