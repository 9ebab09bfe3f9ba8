#include "support/test_support.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace relais::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  path_ = (std::filesystem::temp_directory_path() /
           ("relais-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
            std::to_string(rd())))
              .string();
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  // A missing fixture must fail the test, not make it pass on nothing.
  if (!f) ADD_FAILURE() << "cannot read test data " << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void FixedKey(uint8_t* key32) {
  for (int i = 0; i < 32; ++i) key32[i] = static_cast<uint8_t>(i * 7 + 1);
}

EngineFixture::EngineFixture() {
  clock = std::make_shared<ManualClock>(int64_t{1767225600} * 1000000);  // 2026-01-01T00:00:00Z
  options.data_dir = dir.path() + "/data";
  options.clock = clock;
  options.key_generator = FixedKey;
  auto e = Engine::Open(options);
  if (!e.ok()) {
    ADD_FAILURE() << e.status().message();
    return;
  }
  engine = std::move(*e);
}

std::unique_ptr<Engine> EngineFixture::Reopen() {
  if (engine) engine->Close();
  engine.reset();
  auto e = Engine::Open(options);
  if (!e.ok()) {
    ADD_FAILURE() << e.status().message();
    return nullptr;
  }
  return std::move(*e);
}

AppendOutcome Import(Engine& e, const std::string& json) {
  AppendOptions o;
  o.allow_actor_in_body = true;
  o.allow_recorded_at = true;
  return e.Append(json, o);
}

std::string OutcomeText(const AppendOutcome& o) {
  switch (o.kind) {
    case AppendOutcome::Kind::kAccepted: return "accepted";
    case AppendOutcome::Kind::kDuplicate: return "duplicate";
    case AppendOutcome::Kind::kRefused:
      return "refused " + o.refusal.kind + "/" + o.refusal.code + ": " + o.refusal.message;
    case AppendOutcome::Kind::kError: return "error: " + o.error.message();
  }
  return "?";
}

std::string IdOf(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012x", n);
  return buf;
}

std::string Ev(int n, const std::string& type, const std::string& subject, const std::string& date,
               const std::string& data_json, const std::string& extra) {
  return "{\"id\":\"" + IdOf(n) + "\",\"type\":\"" + type + "\",\"subject\":\"" + subject +
         "\",\"effectiveDate\":\"" + date + "\",\"data\":" + data_json + extra + "}";
}

}  // namespace relais::testing
