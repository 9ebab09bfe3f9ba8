// The control socket inside a running server (server/http_server.cc): what
// the server around a command guarantees it, beyond the command itself.
#include <gtest/gtest.h>

#include <signal.h>
#include <simdjson.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "relais/files.h"
#include "server/control_socket.h"
#include "server/access_journal.h"
#include "server/http_server.h"
#include "server/journal_files.h"
#include "server/server_harness.h"
#include "server/token_store.h"
#include "support/test_support.h"

namespace relais::server {
namespace {

using relais::testing::Http;
using relais::testing::TempDir;

// The port of the server holding `dir` (its serve.json), or 0.
uint16_t PortOf(const std::string& dir) {
  auto text = files::ReadFile(dir + "/" + kServeInfoName, 4096);
  if (!text.ok()) return 0;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view listening;
  if (parser.parse(*text).get(doc) || doc["listening"].get_string().get(listening)) return 0;
  return static_cast<uint16_t>(std::stoi(std::string(listening.substr(listening.rfind(':') + 1))));
}

size_t RotatedFiles(const std::string& dir) {
  auto rotated = ListRotatedJournals(dir);
  return rotated.ok() ? rotated->size() : 0;
}

// A backup run through the control socket lists and copies the directory:
// the access journal must keep its files' names meanwhile, as it does for
// POST /v1/backup, or a rotation between the listing and the copy leaves
// the active file's entries out of the backup. Before: the control socket
// ran `backup` without the journal's rotation hold, and reads during it
// rotated the journal.
TEST(ControlSocketInServer, BackupHoldsTheJournalsRotation) {
  TempDir dir;
  std::string data = dir.path() + "/data";
  auto secret = AddToken(data, TokenEntry{"adm", Role::kAdmin, "", "", "", "", "", false});
  ASSERT_TRUE(secret.ok()) << secret.status().message();

  std::promise<void> entered, release;
  auto released = release.get_future().share();
  ServerOptions o;
  o.data_dir = data;
  o.port = 0;
  o.checkpoint_interval_s = 0;
  o.journal_max_bytes = kJournalMaxBytesMin;  // a few reads rotate it
  o.control = [&](Engine&, const std::string&, const std::string& command,
                  const std::vector<std::string>&, std::istream&, const CommandOutput&) {
    if (command != "backup") return 2;
    entered.set_value();
    released.wait();
    return 0;
  };
  std::promise<Status> ran;
  std::thread server([&] { ran.set_value(RunServer(o)); });
  auto ran_future = ran.get_future();
  uint16_t port = 0;
  for (int i = 0; i < 500 && !port; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    port = PortOf(data);
    if (port && Http(port, "GET", "/healthz").status != 200) port = 0;
  }
  ASSERT_NE(port, 0) << "the server did not start";

  std::thread client([&] { (void)RunThroughServer(data, "backup", {dir.path() + "/b"}, nullptr); });
  ASSERT_EQ(entered.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  // Each read journals a line of about 150 bytes: 40 pass the 1 KiB cap.
  auto reads = [&] {
    for (int i = 0; i < 40; ++i) {
      int status = Http(port, "GET", "/v1/streams/household%2Fh1/status", "", *secret).status;
      ASSERT_TRUE(status == 200 || status == 404) << status;
    }
  };
  reads();
  size_t during = RotatedFiles(data);
  release.set_value();
  client.join();
  // The same reads once the backup is over do rotate it (the test can fail).
  reads();
  size_t after = RotatedFiles(data);
  ::kill(::getpid(), SIGTERM);
  ASSERT_EQ(ran_future.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  server.join();
  EXPECT_TRUE(ran_future.get().ok());
  EXPECT_GT(after, 0u) << "the reads never rotate the journal: the test shows nothing";
  EXPECT_EQ(during, 0u) << "the journal rotated while a control-socket backup was copying it";
}

}  // namespace
}  // namespace relais::server
