// The socket-free request and response of the HTTP face: what the transport
// parses off a connection and what a handler answers. Nothing here knows
// about sockets, so that tests and the fuzzer drive the handlers directly.
#pragma once

#include <ostream>  // before Beast: its string_view headers need it
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relais::server {

namespace http = boost::beast::http;

struct Request {
  http::verb method = http::verb::get;
  std::string target;  // as sent: path and query, still percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first field named `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
};

struct Response {
  http::status status = http::status::ok;
  std::string content_type = "application/json";
  std::string body;
  bool close = false;  // close the connection after this answer
  // Further header fields (Set-Cookie, Cache-Control, Location, ...).
  std::vector<std::pair<std::string, std::string>> headers;
};

// The contract's error body (interfaces.md §2).
Response Error(http::status status, std::string_view kind, std::string_view code,
               std::string_view message, const std::optional<std::string>& id = std::nullopt,
               std::optional<int64_t> current_version = std::nullopt);
Response Json(std::string body, http::status status = http::status::ok);
Response Forbidden(std::string_view message);
Response Malformed(std::string_view message);
Response Internal(std::string_view message);
// 503 kind "unavailable": used when the access journal cannot record a read,
// so that no data leaves unjournaled.
Response Unavailable(std::string_view code, std::string_view message);

using Query = std::vector<std::pair<std::string, std::string>>;
std::string PercentDecode(std::string_view s, bool plus_is_space, bool* ok);
bool ParseQuery(std::string_view q, Query* out);
std::optional<std::string> Param(const Query& q, std::string_view key);

// The one check of every route's query (issue 13: no silent option): a
// parameter not in `allowed` (names separated by commas, "" for none) or one
// given twice is a 400 naming it, code `unknown_parameter` or
// `duplicate_parameter`, with `"parameter"` in the error object.
std::optional<Response> CheckQuery(const Query& q, std::string_view allowed);

// A body starting with a UTF-8 byte order mark is refused (400 naming it),
// never stripped: docs/decisions.md.
inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
std::optional<Response> CheckBody(std::string_view body);

}  // namespace relais::server
