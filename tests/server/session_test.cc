// Console sessions (server/session_store.h, handler_session.cc) through the
// socket-free handlers: sign-in, the cookie's attributes, expiry, logout,
// CSRF, the feed by cookie, a revoked token's sessions; and the cookie and
// the console's headers as a browser receives them from the real binary.
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "server/handlers.h"
#include "server/router.h"
#include "server/server_harness.h"
#include "server/state.h"
#include "server/token_store.h"
#include "support/test_support.h"

namespace relais::server {
namespace {

using relais::testing::TempDir;

class ManualClock : public Clock {
 public:
  Timestamp Now() override { return now; }
  Timestamp now{1'700'000'000'000'000};
};

std::string HeaderOf(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(false); }
  void Open(bool secure) {
    s_.reset();
    if (admin_.empty()) {
      admin_ = Token("admin", Role::kAdmin, "");
      staff_ = Token("staff", Role::kTenancyStaff, "lille");
    }
    ServerOptions o;
    o.data_dir = dir_.path();
    o.cookie_secure = secure;
    auto s = OpenState(o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    s_ = std::move(*s);
  }
  std::string Token(const std::string& name, Role role, const std::string& territory) {
    TokenEntry e;
    e.name = name;
    e.role = role;
    e.territory = territory;
    auto secret = AddToken(dir_.path(), e);
    EXPECT_TRUE(secret.ok()) << secret.status().message();
    return secret.ok() ? *secret : "";
  }
  Response Do(http::verb m, const std::string& target, std::string body,
              std::vector<std::pair<std::string, std::string>> headers) {
    Request req;
    req.method = m;
    req.target = target;
    req.headers = std::move(headers);
    req.body = std::move(body);
    return HandleRequest(*s_, std::move(req));
  }
  Response SignIn(const std::string& token) {
    return Do(http::verb::post, "/v1/session", "{\"token\":\"" + token + "\"}",
              {{"Content-Type", "application/json"}});
  }
  // The cookie's value and the csrf token of a 201.
  std::pair<std::string, std::string> Session(const std::string& token) {
    Response r = SignIn(token);
    EXPECT_EQ(r.status, http::status::created) << r.body;
    std::smatch m;
    std::string cookie = HeaderOf(r, "Set-Cookie");
    std::regex re("relais_session=([0-9a-f]{64});");
    EXPECT_TRUE(std::regex_search(cookie, m, re)) << cookie;
    std::smatch c;
    std::regex csrf("\"csrfToken\":\"([0-9a-f]{64})\"");
    EXPECT_TRUE(std::regex_search(r.body, c, csrf)) << r.body;
    return {m.size() > 1 ? m[1].str() : "", c.size() > 1 ? c[1].str() : ""};
  }
  std::string Event(int n, const std::string& subject) {
    return relais::testing::Ev(
        n, "HouseholdRegistered", subject, "2024-01-10",
        R"({"territory":"lille","commune":"Lille","adults":1,"children":0,)"
        R"("headOfHousehold":{"name":"N","birthDate":"1980-05-01"}})");
  }

  TempDir dir_;
  std::string admin_, staff_;
  std::unique_ptr<State> s_;
};

TEST_F(SessionTest, SignInSetsAnHttpOnlyStrictCookieWithAnExpiry) {
  Response r = SignIn(admin_);
  ASSERT_EQ(r.status, http::status::created) << r.body;
  std::string cookie = HeaderOf(r, "Set-Cookie");
  EXPECT_TRUE(std::regex_match(cookie, std::regex("relais_session=[0-9a-f]{64}; HttpOnly; "
                                                  "SameSite=Strict; Path=/; Max-Age=28800")))
      << cookie;
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-store");
  EXPECT_NE(r.body.find("\"name\":\"admin\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"role\":\"admin\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"expiresAt\":\""), std::string::npos) << r.body;
  // The secret is not in the answer, and the session id is not the token.
  EXPECT_EQ(r.body.find(admin_), std::string::npos);
  EXPECT_EQ(cookie.find(admin_.substr(4)), std::string::npos);
  // Two sign-ins: two different random ids and CSRF tokens.
  auto a = Session(admin_), b = Session(admin_);
  EXPECT_NE(a.first, b.first);
  EXPECT_NE(a.second, b.second);
  EXPECT_NE(a.first, a.second);
}

TEST_F(SessionTest, SigningInAgainEndsThePreviousSession) {
  auto first = Session(admin_);
  Response again = Do(http::verb::post, "/v1/session", "{\"token\":\"" + staff_ + "\"}",
                      {{"Content-Type", "application/json"}, {"Cookie", "relais_session=" + first.first}});
  ASSERT_EQ(again.status, http::status::created);
  EXPECT_EQ(Do(http::verb::get, "/v1/session", "", {{"Cookie", "relais_session=" + first.first}}).status,
            http::status::unauthorized);
  EXPECT_EQ(s_->sessions->size(), 1u);
}

TEST_F(SessionTest, SecureFlagUnderTls) {
  Open(true);
  std::string cookie = HeaderOf(SignIn(admin_), "Set-Cookie");
  EXPECT_NE(cookie.find("; Secure"), std::string::npos) << cookie;
  Open(false);
  EXPECT_EQ(HeaderOf(SignIn(admin_), "Set-Cookie").find("Secure"), std::string::npos);
}

TEST_F(SessionTest, BadSignInsAreRefused) {
  EXPECT_EQ(SignIn("rls_" + std::string(64, '0')).status, http::status::unauthorized);
  EXPECT_EQ(SignIn("").status, http::status::unauthorized);
  EXPECT_EQ(SignIn(std::string(300, 'a')).status, http::status::unauthorized);
  // No JSON content type (what a cross-site form sends): 415, no cookie.
  Response form = Do(http::verb::post, "/v1/session", "{\"token\":\"" + admin_ + "\"}",
                     {{"Content-Type", "text/plain"}});
  EXPECT_EQ(form.status, http::status::unsupported_media_type) << form.body;
  EXPECT_EQ(HeaderOf(form, "Set-Cookie"), "");
  EXPECT_EQ(Do(http::verb::post, "/v1/session", "[1]", {{"Content-Type", "application/json"}}).status,
            http::status::bad_request);
  EXPECT_EQ(Do(http::verb::post, "/v1/session", "{\"token\":3}", {{"Content-Type", "application/json"}})
                .status,
            http::status::bad_request);
  EXPECT_EQ(s_->sessions->size(), 0u);
}

TEST_F(SessionTest, CookieAuthenticatesReadsAndBearerStillWorks) {
  auto [id, csrf] = Session(staff_);
  Response who = Do(http::verb::get, "/v1/session", "", {{"Cookie", "x=1; relais_session=" + id}});
  ASSERT_EQ(who.status, http::status::ok) << who.body;
  EXPECT_NE(who.body.find("\"role\":\"tenancy_staff\""), std::string::npos) << who.body;
  EXPECT_NE(who.body.find("\"csrfToken\":\"" + csrf + "\""), std::string::npos) << who.body;
  Response bearer = Do(http::verb::get, "/v1/session", "", {{"Authorization", "Bearer " + admin_}});
  ASSERT_EQ(bearer.status, http::status::ok);
  EXPECT_NE(bearer.body.find("\"csrfToken\":null"), std::string::npos) << bearer.body;
  EXPECT_EQ(Do(http::verb::get, "/v1/session", "", {}).status, http::status::unauthorized);
  EXPECT_EQ(Do(http::verb::get, "/v1/session", "", {{"Cookie", "relais_session=" + std::string(64, 'a')}})
                .status,
            http::status::unauthorized);
  // A bad bearer is not rescued by a good cookie.
  EXPECT_EQ(Do(http::verb::get, "/v1/session", "",
               {{"Authorization", "Bearer nope"}, {"Cookie", "relais_session=" + id}})
                .status,
            http::status::unauthorized);
}

TEST_F(SessionTest, StateChangesByCookieNeedTheCsrfToken) {
  auto [id, csrf] = Session(admin_);
  std::string cookie = "relais_session=" + id;
  Response none = Do(http::verb::post, "/v1/events", Event(1, "household/H1"), {{"Cookie", cookie}});
  EXPECT_EQ(none.status, http::status::forbidden) << none.body;
  EXPECT_NE(none.body.find("\"code\":\"csrf\""), std::string::npos) << none.body;
  Response wrong = Do(http::verb::post, "/v1/events", Event(1, "household/H1"),
                      {{"Cookie", cookie}, {"X-CSRF-Token", std::string(64, '0')}});
  EXPECT_EQ(wrong.status, http::status::forbidden) << wrong.body;
  // Another session's token does not do either.
  auto other = Session(admin_);
  EXPECT_EQ(Do(http::verb::post, "/v1/events", Event(1, "household/H1"),
               {{"Cookie", cookie}, {"X-CSRF-Token", other.second}})
                .status,
            http::status::forbidden);
  EXPECT_EQ(s_->engine->GetHead().position, 0u);  // nothing was written
  Response ok = Do(http::verb::post, "/v1/events", Event(1, "household/H1"),
                   {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(ok.status, http::status::created) << ok.body;
  // The event's actor is the token behind the session.
  auto events = s_->engine->ReadStreamEvents(*ParseSubject("household/H1", nullptr));
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->at(0).actor.id, "admin");
  // Bearer requests need no CSRF token.
  EXPECT_EQ(Do(http::verb::post, "/v1/events", Event(2, "household/H2"),
               {{"Authorization", "Bearer " + admin_}})
                .status,
            http::status::created);
  // Nor do reads by cookie.
  EXPECT_EQ(Do(http::verb::get, "/v1/streams/household%2FH1/status", "", {{"Cookie", cookie}}).status,
            http::status::ok);
}

TEST_F(SessionTest, LogoutEndsTheSessionAndClearsTheCookie) {
  auto [id, csrf] = Session(admin_);
  std::string cookie = "relais_session=" + id;
  Response no_csrf = Do(http::verb::delete_, "/v1/session", "", {{"Cookie", cookie}});
  EXPECT_EQ(no_csrf.status, http::status::forbidden);
  Response out = Do(http::verb::delete_, "/v1/session", "", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(out.status, http::status::no_content) << out.body;
  EXPECT_EQ(HeaderOf(out, "Set-Cookie"),
            "relais_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
  EXPECT_EQ(Do(http::verb::get, "/v1/session", "", {{"Cookie", cookie}}).status,
            http::status::unauthorized);
  EXPECT_EQ(Do(http::verb::get, "/v1/streams/household%2FH1/status", "", {{"Cookie", cookie}}).status,
            http::status::unauthorized);
}

TEST_F(SessionTest, SessionsExpire) {
  auto clock = std::make_shared<ManualClock>();
  s_->sessions = std::make_unique<SessionStore>(clock, 3600);
  auto [id, csrf] = Session(admin_);
  std::string cookie = "relais_session=" + id;
  clock->now.micros += 3599LL * 1000000;
  EXPECT_EQ(Do(http::verb::get, "/v1/session", "", {{"Cookie", cookie}}).status, http::status::ok);
  clock->now.micros += 1000000;
  EXPECT_EQ(Do(http::verb::get, "/v1/session", "", {{"Cookie", cookie}}).status,
            http::status::unauthorized);
  EXPECT_EQ(s_->sessions->size(), 0u);  // removed, not kept
}

// A session lasts no longer than its token: its expiresAt and the cookie's
// Max-Age stop at the token's expiry, and the session ends there. Before:
// both said the full 8 hours after sign-in whatever the token's expiry.
TEST_F(SessionTest, ASessionEndsWithItsTokensExpiry) {
  TokenEntry e;
  e.name = "brief";
  e.role = Role::kAdmin;
  Timestamp expires{(SystemClock()->Now().micros / 1000000 + 2) * 1000000};
  e.expires_at = FormatTimestamp(expires);
  auto secret = AddToken(dir_.path(), e);
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  std::this_thread::sleep_for(std::chrono::milliseconds(kTokenReloadMs + 100));
  Response r = SignIn(*secret);
  ASSERT_EQ(r.status, http::status::created) << r.body;
  EXPECT_NE(r.body.find("\"expiresAt\":\"" + FormatTimestamp(expires) + "\""), std::string::npos)
      << r.body << " (the token expires at " << e.expires_at << ")";
  std::smatch m;
  std::string cookie = HeaderOf(r, "Set-Cookie");
  ASSERT_TRUE(std::regex_search(cookie, m, std::regex("Max-Age=([0-9]+)"))) << cookie;
  EXPECT_LE(std::stoll(m[1].str()), 2) << cookie;
  std::smatch id;
  ASSERT_TRUE(std::regex_search(cookie, id, std::regex("relais_session=([0-9a-f]{64})")));
  while (SystemClock()->Now().micros < expires.micros)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Response late = Do(http::verb::get, "/v1/session", "", {{"Cookie", "relais_session=" + id[1].str()}});
  EXPECT_EQ(late.status, http::status::unauthorized) << late.body;
  EXPECT_EQ(s_->sessions->size(), 0u);
}

TEST_F(SessionTest, RevokedTokenKillsItsSessions) {
  auto staff = Session(staff_);
  auto admin = Session(admin_);
  ASSERT_TRUE(RevokeToken(dir_.path(), "staff").ok());
  // The token store re-reads its file at most every 500 ms.
  std::this_thread::sleep_for(std::chrono::milliseconds(kTokenReloadMs + 100));
  EXPECT_EQ(Do(http::verb::get, "/v1/session", "", {{"Cookie", "relais_session=" + staff.first}}).status,
            http::status::unauthorized);
  EXPECT_EQ(Do(http::verb::get, "/v1/session", "", {{"Cookie", "relais_session=" + admin.first}}).status,
            http::status::ok);
  EXPECT_EQ(s_->sessions->size(), 1u);
  // A new token of the same name does not revive the old sessions.
  Token("staff", Role::kTenancyStaff, "lille");
  std::this_thread::sleep_for(std::chrono::milliseconds(kTokenReloadMs + 100));
  EXPECT_EQ(Do(http::verb::get, "/v1/session", "", {{"Cookie", "relais_session=" + staff.first}}).status,
            http::status::unauthorized);
}

TEST_F(SessionTest, FeedByCookie) {
  ASSERT_EQ(Do(http::verb::post, "/v1/events", Event(1, "household/H1"),
               {{"Authorization", "Bearer " + admin_}})
                .status,
            http::status::created);
  ASSERT_EQ(Do(http::verb::post, "/v1/events",
               relais::testing::Ev(2, "ConsentRecorded", "household/H1", "2024-01-11",
                                   R"({"purpose":"support","given":true})"),
               {{"Authorization", "Bearer " + admin_}})
                .status,
            http::status::created);
  auto [id, csrf] = Session(staff_);
  Response feed = Do(http::verb::get, "/v1/feed", "", {{"Cookie", "relais_session=" + id}});
  EXPECT_EQ(feed.content_type, "text/event-stream");
  EXPECT_NE(feed.body.find("id: 1\n"), std::string::npos) << feed.body;
  // Filtered as the role reads it: a consent is a social event.
  EXPECT_EQ(feed.body.find("ConsentRecorded"), std::string::npos) << feed.body;
  auto admin = Session(admin_);
  Response all = Do(http::verb::get, "/v1/feed", "", {{"Cookie", "relais_session=" + admin.first}});
  EXPECT_NE(all.body.find("ConsentRecorded"), std::string::npos) << all.body;
  EXPECT_EQ(Do(http::verb::get, "/v1/feed", "", {{"Cookie", "relais_session=bad"}}).status,
            http::status::unauthorized);
}

TEST(SessionStoreTest, CountsAreBounded) {
  auto clock = std::make_shared<ManualClock>();
  SessionStore store(clock, 60, /*max=*/3);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto s = store.Create("token" + std::to_string(i));
    ASSERT_TRUE(s.ok());
    ids.push_back(s->id);
  }
  EXPECT_EQ(store.Create("token9").status().code(), StatusCode::kResourceExhausted);
  clock->now.micros += 61LL * 1000000;  // all expired: room again
  EXPECT_TRUE(store.Create("token9").ok());
  EXPECT_EQ(store.size(), 1u);
  // One token keeps at most kSessionsPerTokenMax: its oldest goes.
  SessionStore one(clock, 60);
  std::string first;
  for (size_t i = 0; i <= kSessionsPerTokenMax; ++i) {
    clock->now.micros += 1;
    auto s = one.Create("same");
    ASSERT_TRUE(s.ok());
    if (i == 0) first = s->id;
  }
  EXPECT_EQ(one.size(), kSessionsPerTokenMax);
  EXPECT_FALSE(one.Find(first).has_value());
}

TEST(SessionStoreTest, CookieValueParsing) {
  EXPECT_EQ(CookieValue("relais_session=abc", "relais_session"), "abc");
  EXPECT_EQ(CookieValue("a=1;  relais_session=abc ; b=2", "relais_session"), "abc");
  EXPECT_EQ(CookieValue("xrelais_session=abc", "relais_session"), std::nullopt);
  EXPECT_EQ(CookieValue("relais_session", "relais_session"), std::nullopt);
  EXPECT_EQ(CookieValue("", "relais_session"), std::nullopt);
  EXPECT_TRUE(SecretEquals("abc", "abc"));
  EXPECT_FALSE(SecretEquals("abc", "abd"));
  EXPECT_FALSE(SecretEquals("abc", "abcd"));
}

// The real binary over a socket: the headers a browser receives.
TEST(SessionHttpTest, CookieAndConsoleHeadersOnTheWire) {
  TempDir dir;
  std::string admin = relais::testing::AddToken(dir.path(), "admin", "admin");
  relais::testing::ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  auto r = relais::testing::Http(server.port(), "POST", "/v1/session",
                                 "{\"token\":\"" + admin + "\"}", "",
                                 {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_TRUE(std::regex_match(r.headers["set-cookie"],
                               std::regex("relais_session=[0-9a-f]{64}; HttpOnly; SameSite=Strict; "
                                          "Path=/; Max-Age=28800")))
      << r.headers["set-cookie"];
  std::string id = r.headers["set-cookie"].substr(15, 64);
  auto who = relais::testing::Http(server.port(), "GET", "/v1/session", "", "",
                                   {{"Cookie", "relais_session=" + id}});
  EXPECT_EQ(who.status, 200) << who.body;
  auto page = relais::testing::Http(server.port(), "GET", "/console/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(page.headers["content-security-policy"], std::string(kConsoleCsp));
  EXPECT_EQ(page.headers["cache-control"], "no-cache");
  EXPECT_EQ(page.headers["x-content-type-options"], "nosniff");
  EXPECT_NE(page.body.find("<html lang=\"fr\">"), std::string::npos);
  auto js = relais::testing::Http(server.port(), "GET", "/console/app.js");
  EXPECT_EQ(js.headers["content-type"], "text/javascript; charset=utf-8");
  auto again = relais::testing::Http(server.port(), "GET", "/console/app.js", "", "",
                                     {{"If-None-Match", js.headers["etag"]}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  auto root = relais::testing::Http(server.port(), "GET", "/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.headers["location"], "/console/");
  EXPECT_EQ(relais::testing::Http(server.port(), "GET", "/console/nope.js").status, 404);
  EXPECT_EQ(relais::testing::Http(server.port(), "POST", "/console/", "x").status, 405);
  EXPECT_EQ(server.Stop(), 0);
}

// A live feed outlives no session and no token: logging out, or revoking
// the token, ends the stream with an error event within about a second.
TEST(SessionHttpTest, LiveFeedEndsWithItsSessionOrToken) {
  TempDir dir;
  std::string admin = relais::testing::AddToken(dir.path(), "admin", "admin");
  std::string staff = relais::testing::AddToken(dir.path(), "staff", "tenancy_staff", "lille");
  relais::testing::ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  auto r = relais::testing::Http(server.port(), "POST", "/v1/session",
                                 "{\"token\":\"" + admin + "\"}", "",
                                 {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = r.headers["set-cookie"].substr(15, 64);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.body, m, std::regex("\"csrfToken\":\"([0-9a-f]{64})\"")));
  std::string csrf = m[1].str();
  std::string got;
  auto start = std::chrono::steady_clock::now();
  std::thread reader([&] {
    got = relais::testing::RawExchange(
        server.port(), "GET /v1/feed HTTP/1.1\r\nHost: t\r\nCookie: relais_session=" + id + "\r\n\r\n",
        20000);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto out = relais::testing::Http(server.port(), "DELETE", "/v1/session", "", "",
                                   {{"Cookie", "relais_session=" + id}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(out.status, 204);
  reader.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_NE(got.find("200 OK"), std::string::npos) << got;
  EXPECT_NE(got.find("event: error"), std::string::npos) << got;
  EXPECT_NE(got.find("\"code\":\"unauthorized\""), std::string::npos) << got;

  relais::testing::SseClient sse(server.port(), staff, "/v1/feed");
  ASSERT_TRUE(sse.ok());
  EXPECT_TRUE(sse.Read(1, 1500).empty());  // an empty log: nothing yet
  std::string text;
  ASSERT_EQ(relais::testing::RunRelais({"--data", dir.path(), "token", "revoke", "--name", "staff"}, &text), 0);
  auto events = sse.Read(1, 8000);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "error");
  EXPECT_NE(events[0].data.find("unauthorized"), std::string::npos) << events[0].data;
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace relais::server
