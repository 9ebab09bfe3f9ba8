// The JSON bodies of the small POST routes (backup, erasure): a field the
// route does not take is a 400 naming it, never ignored (issue 13).
#pragma once

#include <simdjson.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "server/http_types.h"

namespace relais::server {

inline std::optional<Response> RejectUnknownFields(simdjson::dom::element doc,
                                                   std::initializer_list<std::string_view> allowed) {
  simdjson::dom::object obj;
  if (doc.get(obj) != simdjson::SUCCESS) return std::nullopt;  // the caller refuses a non-object
  for (auto [key, value] : obj) {
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known)
      return Error(http::status::bad_request, "malformed", "unknown_field",
                   "field '" + std::string(key.substr(0, 64)) + "' is not taken by this endpoint");
  }
  return std::nullopt;
}

}  // namespace relais::server
