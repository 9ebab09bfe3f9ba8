#include "server/http_types.h"

#include <strings.h>

#include "relais/json_writer.h"

namespace relais::server {

std::optional<std::string_view> Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0)
      return std::string_view(v);
  return std::nullopt;
}

Response Error(http::status status, std::string_view kind, std::string_view code,
               std::string_view message, const std::optional<std::string>& id,
               std::optional<int64_t> current_version) {
  JsonWriter w;
  w.BeginObject();
  w.Key("error").BeginObject();
  w.Key("kind").String(kind);
  w.Key("code").String(code);
  w.Key("message").String(message);
  w.Key("id");
  if (id) {
    w.String(*id);
  } else {
    w.Null();
  }
  if (current_version) w.Key("currentVersion").Int(*current_version);
  w.EndObject();
  w.EndObject();
  Response r;
  r.status = status;
  r.body = w.Take();
  r.body.push_back('\n');
  return r;
}

Response Json(std::string body, http::status status) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.body.push_back('\n');
  return r;
}

Response Forbidden(std::string_view message) {
  return Error(http::status::forbidden, "forbidden", "forbidden", message);
}

Response Malformed(std::string_view message) {
  return Error(http::status::bad_request, "malformed", "malformed", message);
}

Response Internal(std::string_view message) {
  return Error(http::status::internal_server_error, "internal", "internal", message);
}

Response Unavailable(std::string_view code, std::string_view message) {
  return Error(http::status::service_unavailable, "unavailable", code, message);
}

std::string PercentDecode(std::string_view s, bool plus_is_space, bool* ok) {
  auto hex = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 1 < s.size() ? hex(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? hex(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        *ok = false;
        return out;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool ParseQuery(std::string_view q, Query* out) {
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    bool ok = true;
    std::string k = PercentDecode(part.substr(0, eq), true, &ok);
    std::string v =
        eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1), true, &ok);
    if (!ok) return false;
    out->emplace_back(std::move(k), std::move(v));
  }
  return true;
}

std::optional<std::string> Param(const Query& q, std::string_view key) {
  for (const auto& [k, v] : q)
    if (k == key) return v;
  return std::nullopt;
}

namespace {

bool Listed(std::string_view allowed, std::string_view name) {
  while (!allowed.empty()) {
    size_t comma = allowed.find(',');
    if (allowed.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    allowed.remove_prefix(comma + 1);
  }
  return false;
}

Response ParameterError(std::string_view code, const std::string& name, std::string message) {
  JsonWriter w;
  w.BeginObject();
  w.Key("error").BeginObject();
  w.Key("kind").String("malformed");
  w.Key("code").String(code);
  w.Key("message").String(message);
  w.Key("id").Null();
  w.Key("parameter").String(name);
  w.EndObject();
  w.EndObject();
  return Json(w.Take(), http::status::bad_request);
}

}  // namespace

std::optional<Response> CheckQuery(const Query& q, std::string_view allowed) {
  for (size_t i = 0; i < q.size(); ++i) {
    // A name is echoed at most 64 bytes long: the URL is the client's.
    std::string name = q[i].first.substr(0, 64);
    if (!Listed(allowed, q[i].first)) {
      std::string takes = allowed.empty() ? std::string("no query parameter")
                                          : "only " + std::string(allowed);
      return ParameterError("unknown_parameter", name,
                            "unknown query parameter '" + name + "': this endpoint takes " + takes);
    }
    for (size_t j = 0; j < i; ++j)
      if (q[j].first == q[i].first)
        return ParameterError("duplicate_parameter", name,
                              "query parameter '" + name + "' is given twice");
  }
  return std::nullopt;
}

std::optional<Response> CheckBody(std::string_view body) {
  if (body.substr(0, kUtf8Bom.size()) != kUtf8Bom) return std::nullopt;
  return Malformed(
      "the body starts with a UTF-8 byte order mark (bytes EF BB BF): send UTF-8 without BOM");
}

}  // namespace relais::server
