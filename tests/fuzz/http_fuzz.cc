// libFuzzer target: raw bytes -> Beast's request parser (the transport's
// limits) -> the socket-free handler (server/router.h HandleRequest), on a
// temporary data directory with two tokens and a few events. Any input must
// give a parse error or a response; never a crash, a sanitizer report or an
// uncaught exception. The tokens' secrets are fixed ("rls_fuzz_admin",
// "rls_fuzz_worker") so that the corpus can carry them.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "relais/files.h"
#include "server/router.h"
#include "server/state.h"
#include "server/token_store.h"
#include "support/test_support.h"

namespace {

namespace beast = boost::beast;
using namespace relais;
using namespace relais::server;

State* Setup() {
  static relais::testing::TempDir* dir = new relais::testing::TempDir();
  std::string tokens =
      "{\"tokens\":[{\"name\":\"admin\",\"role\":\"admin\",\"territory\":\"\",\"org\":\"\","
      "\"sha256\":\"" +
      Sha256Hex("rls_fuzz_admin") +
      "\",\"createdAt\":\"2024-01-01T00:00:00Z\",\"revoked\":false},"
      "{\"name\":\"sw\",\"role\":\"social_worker\",\"territory\":\"\",\"org\":\"asso-a\","
      "\"sha256\":\"" +
      Sha256Hex("rls_fuzz_worker") + "\",\"createdAt\":\"2024-01-01T00:00:00Z\",\"revoked\":false}]}";
  if (!files::WriteFileAtomic(dir->path() + "/tokens.json", tokens).ok()) std::abort();
  ServerOptions o;
  o.data_dir = dir->path();
  auto s = OpenState(o);
  if (!s.ok()) {
    std::fprintf(stderr, "http_fuzz: %s\n", s.status().message().c_str());
    std::abort();
  }
  State* state = s->release();
  for (int i = 1; i <= 3; ++i) {
    Request req;
    req.method = http::verb::post;
    req.target = "/v1/events";
    req.headers = {{"Authorization", "Bearer rls_fuzz_admin"}};
    req.body = relais::testing::Ev(
        i, "HouseholdRegistered", "household/H" + std::to_string(i), "2024-01-10",
        R"({"territory":"lille","commune":"Lille","adults":1,"children":0,)"
        R"("headOfHousehold":{"name":"N","birthDate":"1980-05-01"}})");
    HandleRequest(*state, std::move(req));
  }
  return state;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static State* state = Setup();
  beast::http::request_parser<beast::http::string_body> parser;
  parser.body_limit(kBodyBytesMax);
  parser.header_limit(64 << 10);
  parser.eager(true);
  beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_done()) return 0;
  auto msg = parser.release();
  Request req;
  req.method = msg.method();
  req.target = std::string(msg.target());
  for (const auto& f : msg) req.headers.emplace_back(f.name_string(), f.value());
  req.body = std::move(msg.body());
  Response r = HandleRequest(*state, std::move(req), 64 << 10);
  if (static_cast<int>(r.status) < 100 || static_cast<int>(r.status) > 599) std::abort();
  return 0;
}
