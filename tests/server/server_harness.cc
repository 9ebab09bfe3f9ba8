#include "server/server_harness.h"

#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

extern char** environ;

namespace relais::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string RelaisBin() {
  const char* bin = std::getenv("RELAIS_TEST_BIN");
  return bin && *bin ? bin : RELAIS_BIN;
}

namespace {

// $RELAIS_RECORD_RESPONSES: every answer appended to that file as one JSON
// line {"method","target","status","contentType","body"}, for
// tests/openapi/validate_responses.py to check against docs/openapi.yaml.
void Record(const std::string& method, const std::string& target, const HttpResult& r) {
  const char* path = std::getenv("RELAIS_RECORD_RESPONSES");
  if (!path || !*path) return;
  auto quote = [](const std::string& s) {
    std::string q = "\"";
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        q.push_back('\\');
        q.push_back(static_cast<char>(c));
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        q += buf;
      } else {
        q.push_back(static_cast<char>(c));
      }
    }
    return q + "\"";
  };
  auto ct = r.headers.find("content-type");
  std::string line = "{\"method\":" + quote(method) + ",\"target\":" + quote(target) +
                     ",\"status\":" + std::to_string(r.status) + ",\"contentType\":" +
                     quote(ct == r.headers.end() ? "" : ct->second) + ",\"body\":" + quote(r.body) +
                     "}\n";
  // One write per line with O_APPEND: lines of concurrent clients never interleave.
  int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  ssize_t ignored = ::write(fd, line.data(), line.size());
  (void)ignored;
  ::close(fd);
}

HttpResult HttpImpl(const std::string& source, uint16_t port, const std::string& method,
                    const std::string& target, const std::string& body, const std::string& token,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    int timeout_ms = 60000) {
  HttpResult out;
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::milliseconds(timeout_ms));
    if (!source.empty()) {
      stream.socket().open(tcp::v4());
      stream.socket().bind(tcp::endpoint(net::ip::make_address(source), 0));
    }
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req(http::string_to_verb(method), target, 11);
    req.set(http::field::host, "127.0.0.1");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == "POST") {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    // A server may answer (413) before the whole body is sent: read anyway.
    beast::error_code write_ec;
    http::write(stream, req, write_ec);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 32);
    http::read(stream, buffer, parser);
    auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception&) {
    out.status = 0;
  }
  if (out.status != 0) Record(method, target, out);
  return out;
}

}  // namespace

HttpResult Http(uint16_t port, const std::string& method, const std::string& target,
                const std::string& body, const std::string& token,
                const std::vector<std::pair<std::string, std::string>>& headers,
                int timeout_ms) {
  return HttpImpl("", port, method, target, body, token, headers, timeout_ms);
}

HttpResult HttpFrom(const std::string& source, uint16_t port, const std::string& method,
                    const std::string& target, const std::string& body,
                    const std::string& token, int timeout_ms) {
  return HttpImpl(source, port, method, target, body, token, {}, timeout_ms);
}

namespace {

int Connect(uint16_t port, const std::string& source = "", bool nonblocking = false) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return -1;
  if (!source.empty()) {
    sockaddr_in l{};
    l.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &l.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&l), sizeof l) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 &&
      !(nonblocking && errno == EINPROGRESS)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

pid_t Spawn(const std::vector<std::string>& args, int* stdout_fd,
            const std::string& stderr_path = "") {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  if (!stderr_path.empty())
    posix_spawn_file_actions_addopen(&fa, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0600);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  *stdout_fd = pipefd[0];
  return pid;
}

}  // namespace

int OpenIdleConnectionFrom(const std::string& source, uint16_t port, const std::string& bytes,
                           bool nonblocking) {
  int fd = Connect(port, source, nonblocking);
  if (fd >= 0 && !bytes.empty()) WriteAll(fd, bytes);
  return fd;
}

int OpenIdleConnection(uint16_t port, const std::string& bytes) {
  int fd = Connect(port);
  if (fd >= 0 && !bytes.empty()) WriteAll(fd, bytes);
  return fd;
}

std::string RawExchange(uint16_t port, const std::string& bytes, int timeout_ms) {
  int fd = Connect(port);
  if (fd < 0) return "";
  WriteAll(fd, bytes);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string RawExchangeFrom(const std::string& source, uint16_t port, const std::string& bytes,
                            int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto left = [&] {
    return static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(
               deadline - std::chrono::steady_clock::now())
               .count()));
  };
  int fd = Connect(port, source, /*nonblocking=*/true);
  if (fd < 0) return "";
  pollfd w{fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (::poll(&w, 1, left()) <= 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
      err != 0) {
    ::close(fd);
    return "";
  }
  size_t off = 0;
  while (off < bytes.size() && left() > 0) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, std::min(100, left()));
    } else {
      break;
    }
  }
  std::string out;
  char buf[4096];
  while (left() > 0) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, std::min(100, left())) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

int RunRelais(const std::vector<std::string>& args, std::string* out) {
  std::vector<std::string> full = {RelaisBin()};
  full.insert(full.end(), args.begin(), args.end());
  int fd = -1;
  pid_t pid = Spawn(full, &fd);
  if (pid < 0) return -1;
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string RunIn(const std::string& dir, const std::vector<std::string>& args, int* rc) {
  std::vector<std::string> full = {"--data", dir};
  full.insert(full.end(), args.begin(), args.end());
  std::string out;
  *rc = RunRelais(full, &out);
  return out;
}

int ImportLines(const std::string& dir, const std::string& file, const std::vector<std::string>& lines,
                std::string* out) {
  {
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    for (const auto& l : lines) f << l << "\n";
    if (!f.flush()) return -1;
  }
  return RunRelais({"--data", dir, "import", file}, out);
}

int RunRelaisWithStderr(const std::vector<std::string>& args, std::string* out) {
  std::string cmd = "'" + RelaisBin() + "'";
  for (const auto& a : args) {
    std::string q;
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += " '" + q + "'";
  }
  cmd += " 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  int status = ::pclose(f);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

CliResult RunCli(const std::vector<std::string>& args, const std::string& stdin_file) {
  CliResult r;
  char out_path[] = "/tmp/relais-cli-out-XXXXXX";
  char err_path[] = "/tmp/relais-cli-err-XXXXXX";
  int out_fd = ::mkstemp(out_path), err_fd = ::mkstemp(err_path);
  if (out_fd < 0 || err_fd < 0) return r;
  std::vector<std::string> full = {RelaisBin()};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (const auto& a : full) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, stdin_file.empty() ? "/dev/null" : stdin_file.c_str(),
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  pid_t pid = -1;
  bool spawned = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) == 0;
  posix_spawn_file_actions_destroy(&fa);
  if (spawned) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  auto slurp = [](int fd) {
    std::string text;
    char buf[4096];
    ssize_t n;
    ::lseek(fd, 0, SEEK_SET);
    while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return text;
  };
  r.out = slurp(out_fd);
  r.err = slurp(err_fd);
  ::unlink(out_path);
  ::unlink(err_path);
  return r;
}

std::string AddToken(const std::string& dir, const std::string& name, const std::string& role,
                     const std::string& territory, const std::string& org) {
  std::vector<std::string> args = {"--data", dir, "token", "add", "--name", name, "--role", role};
  if (!territory.empty()) args.insert(args.end(), {"--territory", territory});
  if (!org.empty()) args.insert(args.end(), {"--org", org});
  std::string out;
  if (RunRelais(args, &out) != 0) return "";
  simdjson::dom::parser p;
  std::string_view tok;
  if (p.parse(out).get_object()["token"].get_string().get(tok)) return "";
  return std::string(tok);
}

bool ServerProcess::Start() {
  int fd = -1;
  std::vector<std::string> args;
  if (nofile_ > 0)
    args = {"/usr/bin/prlimit", "--nofile=" + std::to_string(nofile_) + ":" +
                                    std::to_string(nofile_), "--"};
  for (std::string a : {RelaisBin(), std::string("--data"), dir_, std::string("serve"),
                        std::string("--listen"),
                        "127.0.0.1:" + std::to_string(fixed_port_)})
    args.push_back(a);
  args.insert(args.end(), extra_.begin(), extra_.end());
  pid_ = Spawn(args, &fd, stderr_path_);
  if (pid_ < 0) return false;
  // The first stdout line names the port; a slow start is not a failure, so
  // the wait is generous.
  std::string line;
  char c;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    if (::read(fd, &c, 1) != 1) break;
    if (c == '\n') break;
    line.push_back(c);
  }
  ::close(fd);
  size_t colon = line.rfind(':');
  if (colon == std::string::npos) return false;
  port_ = static_cast<uint16_t>(std::atoi(line.c_str() + colon + 1));
  return port_ != 0;
}

int ServerProcess::Stop() {
  if (pid_ < 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ServerProcess::Kill() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

SseClient::SseClient(uint16_t port, const std::string& token, const std::string& target,
                     const std::string& last_event_id)
    : target_(target) {
  fd_ = Connect(port);
  if (fd_ < 0) return;
  std::string req =
      "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (!last_event_id.empty()) req += "Last-Event-ID: " + last_event_id + "\r\n";
  req += "\r\n";
  if (!WriteAll(fd_, req)) {
    ::close(fd_);
    fd_ = -1;
  }
}

SseClient::~SseClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool SseClient::Fill(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  buf_.append(buf, static_cast<size_t>(n));
  return true;
}

std::vector<SseClient::Event> SseClient::Read(size_t n, int timeout_ms) {
  std::vector<Event> out;
  if (fd_ < 0) return out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (out.size() < n) {
    if (!header_done_) {
      size_t end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        status_ = std::atoi(buf_.c_str() + 9);
        if (status_ == 200) {
          // The head of a stream, recorded without its (endless) body.
          HttpResult head;
          head.status = status_;
          std::string lower = buf_.substr(0, end);
          for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          size_t ct = lower.find("\r\ncontent-type: ");
          if (ct != std::string::npos)
            head.headers["content-type"] = lower.substr(ct + 16, lower.find("\r\n", ct + 2) - ct - 16);
          Record("GET", target_, head);
        }
        buf_.erase(0, end + 4);
        header_done_ = true;
        if (status_ != 200) return out;
        continue;
      }
    } else {
      size_t end = buf_.find("\n\n");
      if (end != std::string::npos) {
        std::string block = buf_.substr(0, end);
        buf_.erase(0, end + 2);
        Event e;
        size_t pos = 0;
        while (pos <= block.size()) {
          size_t nl = block.find('\n', pos);
          std::string line =
              block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
          if (line.rfind("id: ", 0) == 0) e.id = line.substr(4);
          if (line.rfind("event: ", 0) == 0) e.event = line.substr(7);
          if (line.rfind("data: ", 0) == 0) e.data += line.substr(6);
          if (nl == std::string::npos) break;
          pos = nl + 1;
        }
        if (!e.data.empty()) out.push_back(std::move(e));
        continue;
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0 || !Fill(static_cast<int>(std::min<int64_t>(left, 200)))) {
      if (std::chrono::steady_clock::now() >= deadline) break;
      // Closed by the server?
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 0) > 0) {
        char c;
        if (::recv(fd_, &c, 1, MSG_PEEK) == 0) break;
      }
    }
  }
  return out;
}

std::string Uuid(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012x", n);
  return buf;
}

std::string Event(const std::string& id, const std::string& type, const std::string& subject,
                  const std::string& date, const std::string& data) {
  return "{\"id\":\"" + id + "\",\"type\":\"" + type + "\",\"subject\":\"" + subject +
         "\",\"effectiveDate\":\"" + date + "\",\"data\":" + data + "}";
}

}  // namespace relais::testing
