// Durability of `relais serve`: concurrent clients append, the server is
// killed (SIGKILL) or stopped (SIGTERM) at a random moment, restarted, and
// every event that received a 201 is there (a re-append is a duplicate) with
// a valid chain. The moment is chosen as a random number of acknowledged
// appends, never as a wall-clock delay, so the test does not depend on speed.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "server/server_harness.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

struct Acked {
  std::mutex mu;
  std::vector<std::string> events;
  std::atomic<int> count{0};
};

// Appends from `clients` threads until the connection fails.
void Hammer(uint16_t port, const std::string& token, int clients, Acked* acked,
            std::vector<std::thread>* threads) {
  for (int c = 0; c < clients; ++c) {
    threads->emplace_back([=] {
      for (int i = 0;; ++i) {
        std::string subject = "household/C" + std::to_string(c) + "-" + std::to_string(i);
        std::string e = Event(
            Uuid(c * 1000000 + i + 1), "HouseholdRegistered", subject, "2024-01-01",
            R"({"territory":"sud","commune":"Douai","adults":1,"children":0,"headOfHousehold":{"name":"N","birthDate":"1970-01-01"}})");
        HttpResult r = Http(port, "POST", "/v1/events", e, token);
        if (r.status == 0 || r.status == 503) return;  // the server went away
        if (r.status != 201) {
          ADD_FAILURE() << r.status << " " << r.body;
          return;
        }
        std::lock_guard<std::mutex> lock(acked->mu);
        acked->events.push_back(e);
        ++acked->count;
      }
    });
  }
}

void CheckAllPresent(const std::string& dir, const std::string& token, const Acked& acked) {
  ServerProcess server(dir);
  ASSERT_TRUE(server.Start());
  for (const auto& e : acked.events) {
    HttpResult r = Http(server.port(), "POST", "/v1/events", e, token);
    ASSERT_EQ(r.status, 201) << e << "\n" << r.body;
    EXPECT_NE(r.body.find("\"duplicate\":true"), std::string::npos)
        << "an acknowledged event was lost: " << e;
  }
  EXPECT_EQ(server.Stop(), 0);
  std::string out;
  EXPECT_EQ(RunRelais({"--data", dir, "verify"}, &out), 0) << out;
  EXPECT_NE(out.find("\"ok\":true"), std::string::npos) << out;
}

class ServerCrashTest : public ::testing::TestWithParam<int> {};

TEST_P(ServerCrashTest, EveryAcknowledgedAppendSurvivesKill9) {
  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  TempDir dir;
  std::string token = AddToken(dir.path(), "admin", "admin");
  ASSERT_FALSE(token.empty());
  Acked acked;
  {
    ServerProcess server(dir.path());
    ASSERT_TRUE(server.Start());
    const int kill_after = std::uniform_int_distribution<int>(20, 400)(rng);
    std::vector<std::thread> threads;
    Hammer(server.port(), token, 8, &acked, &threads);
    while (acked.count.load() < kill_after)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server.Kill();
    for (auto& t : threads) t.join();
  }
  ASSERT_GT(acked.events.size(), 0u);
  CheckAllPresent(dir.path(), token, acked);
}

INSTANTIATE_TEST_SUITE_P(Rounds, ServerCrashTest, ::testing::Range(0, 3));

TEST(ServerShutdownTest, SigtermFinishesInFlightWrites) {
  TempDir dir;
  std::string token = AddToken(dir.path(), "admin", "admin");
  Acked acked;
  ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  std::vector<std::thread> threads;
  Hammer(server.port(), token, 8, &acked, &threads);
  while (acked.count.load() < 100) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(server.Stop(), 0);
  for (auto& t : threads) t.join();
  CheckAllPresent(dir.path(), token, acked);
}

}  // namespace
}  // namespace relais::testing
