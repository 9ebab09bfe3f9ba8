// The web console's static files (tools/server/console/, embedded at build
// time: server/console_assets.h): GET / redirects to /console/, GET
// /console/<file> answers the file. No token: the files hold no data; every
// datum the pages show comes from the API, under the caller's role.
//
// Headers: a strict Content-Security-Policy (only this origin's scripts and
// styles, no inline code, no framing of the console, connections to this
// origin only), nosniff, no referrer; `Cache-Control: no-cache` with an ETag,
// so that a browser revalidates (304, no body) and never runs a stale script
// after an upgrade.
#include <string>
#include <unordered_map>

#include "server/console_assets.h"
#include "server/handlers.h"
#include "server/token_store.h"

namespace relais::server {

namespace {

constexpr std::string_view kConsolePrefix = "/console/";

struct Served {
  const ConsoleAsset* asset;
  std::string content_type;
  std::string etag;
};

std::string TypeOf(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  return "application/octet-stream";
}

const std::unordered_map<std::string_view, Served>& Table() {
  static const auto* table = [] {
    auto* t = new std::unordered_map<std::string_view, Served>();
    for (size_t i = 0; i < kConsoleAssetCount; ++i) {
      const ConsoleAsset& a = kConsoleAssets[i];
      std::string_view bytes(reinterpret_cast<const char*>(a.data), a.size);
      t->emplace(a.name, Served{&a, TypeOf(a.name), "\"" + Sha256Hex(bytes).substr(0, 32) + "\""});
    }
    return t;
  }();
  return *table;
}

void SecurityHeaders(Response& r) {
  r.headers.emplace_back("Content-Security-Policy", std::string(kConsoleCsp));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
}

Response Redirect(std::string location) {
  Response r;
  r.status = http::status::found;
  r.content_type.clear();
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

}  // namespace

std::optional<Response> ConsoleStatic(const Request& req, std::string_view path) {
  if (path != "/" && path != "/console" && path.substr(0, kConsolePrefix.size()) != kConsolePrefix)
    return std::nullopt;
  if (req.method != http::verb::get)
    return Error(http::status::method_not_allowed, "malformed", "method_not_allowed",
                 "this endpoint takes GET");
  if (path == "/" || path == "/console") return Redirect("/console/");
  std::string_view name = path.substr(kConsolePrefix.size());
  if (name.empty()) name = "index.html";
  auto it = Table().find(name);
  if (it == Table().end())
    return Error(http::status::not_found, "not_found", "no_route", "no such file in the console");
  const Served& f = it->second;
  Response r;
  SecurityHeaders(r);
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("ETag", f.etag);
  auto match = req.Header("If-None-Match");
  if (match && *match == f.etag) {
    r.status = http::status::not_modified;
    r.content_type.clear();
    return r;
  }
  r.content_type = f.content_type;
  r.body.assign(reinterpret_cast<const char*>(f.asset->data), f.asset->size);
  return r;
}

}  // namespace relais::server
