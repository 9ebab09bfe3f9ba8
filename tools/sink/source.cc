// The sink's log sources: a server's engine, or a data directory followed
// read-only.
#include <chrono>
#include <thread>

#include "sink/sink.h"

namespace relais::sink {

namespace {

class SharedEngine : public LogSource {
 public:
  explicit SharedEngine(Engine& engine) : engine_(engine) {}
  Engine& engine() override { return engine_; }
  Result<Position> WaitForHead(Position after, int64_t timeout_ms) override {
    return engine_.WaitForHead(after, timeout_ms);
  }

 private:
  Engine& engine_;
};

Result<std::unique_ptr<Engine>> OpenDir(const std::string& dir) {
  Options o;
  o.data_dir = dir;
  o.read_only = true;
  o.create_if_missing = false;
  return Engine::Open(o);
}

// A read-only engine is a snapshot of the directory when it was opened: new
// appends by another process show only in a new open. Opened again when the
// sink has caught up with it and `poll_ms` passed since the last open.
class Directory : public LogSource {
 public:
  Directory(std::string dir, int64_t poll_ms, std::unique_ptr<Engine> engine)
      : dir_(std::move(dir)),
        poll_ms_(poll_ms),
        engine_(std::move(engine)),
        opened_(std::chrono::steady_clock::now()) {}
  Engine& engine() override { return *engine_; }
  Result<Position> WaitForHead(Position after, int64_t timeout_ms) override {
    Position head = engine_->GetHead().position;
    if (head > after) return head;
    auto since = std::chrono::steady_clock::now() - opened_;
    auto wait = std::chrono::milliseconds(poll_ms_) - since;
    if (wait > std::chrono::milliseconds(timeout_ms)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
      return head;
    }
    if (wait > std::chrono::milliseconds(0)) std::this_thread::sleep_for(wait);
    // The new open first: when it fails (a writer in the middle of its own
    // open), the old snapshot stays in use and the next poll tries again.
    auto reopened = OpenDir(dir_);
    opened_ = std::chrono::steady_clock::now();
    if (!reopened.ok()) return head;
    engine_->Close();
    engine_ = std::move(*reopened);
    return engine_->GetHead().position;
  }

 private:
  std::string dir_;
  int64_t poll_ms_;
  std::unique_ptr<Engine> engine_;
  std::chrono::steady_clock::time_point opened_;
};

}  // namespace

std::unique_ptr<LogSource> SharedEngineSource(Engine& engine) {
  return std::make_unique<SharedEngine>(engine);
}

Result<std::unique_ptr<LogSource>> DirectorySource(const std::string& data_dir, int64_t poll_ms) {
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, OpenDir(data_dir));
  return std::unique_ptr<LogSource>(
      std::make_unique<Directory>(data_dir, poll_ms, std::move(engine)));
}

}  // namespace relais::sink
