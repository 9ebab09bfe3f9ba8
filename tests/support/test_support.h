// Test fixtures: a fresh data directory, a controllable clock, JSON helpers.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "relais/engine.h"

namespace relais::testing {

// A clock the test moves by hand. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t micros) : now_(micros) {}
  Timestamp Now() override { return Timestamp{now_.load()}; }
  void Set(int64_t micros) { now_ = micros; }
  void Advance(int64_t micros) { now_ += micros; }

 private:
  std::atomic<int64_t> now_;
};

// A unique empty directory under the test temp dir, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);

// Deterministic data keys (so stored bytes can be pinned).
void FixedKey(uint8_t* key32);

// An engine on a fresh directory with a manual clock at 2026-01-01.
struct EngineFixture {
  EngineFixture();
  std::unique_ptr<Engine> Reopen();  // closes `engine` first
  TempDir dir;
  std::shared_ptr<ManualClock> clock;
  std::unique_ptr<Engine> engine;
  Options options;
};

// An admin import append (recordedAt and actor allowed), durable.
AppendOutcome Import(Engine& e, const std::string& json);
std::string OutcomeText(const AppendOutcome& o);  // for failure messages

// Builds an event line: {"id", "type", "subject", "effectiveDate", "data"}.
// `n` makes the id: 00000000-0000-4000-8000-<n as 12 hex digits>.
std::string Ev(int n, const std::string& type, const std::string& subject,
               const std::string& date, const std::string& data_json,
               const std::string& extra = "");
std::string IdOf(int n);

}  // namespace relais::testing
