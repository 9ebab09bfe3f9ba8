// Text and attribute escaping for the HTML pages that projections render
// (the report, the household's file, the tenancy record): one place, so that
// no page escapes less than another.
#pragma once

#include <string>
#include <string_view>

namespace relais::projections {

// `s` safe inside an element or a quoted attribute value.
inline std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace relais::projections
