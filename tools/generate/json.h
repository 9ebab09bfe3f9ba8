// Compact JSON object builder of the event data.

#ifndef RELAIS_TOOLS_GENERATE_JSON_H_
#define RELAIS_TOOLS_GENERATE_JSON_H_

#include <array>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "generate/calendar.h"

namespace relais::tools::gen {

// Appends a compact JSON object into a reusable buffer; keys are our literals.
class Json {
 public:
  Json& Reset() {
    text_.clear();
    depth_ = 0;
    comma_ = false;
    return Open('{', '}');
  }
  Json& Object(std::string_view key) { return Key(key).Open('{', '}'); }
  Json& Array(std::string_view key) { return Key(key).Open('[', ']'); }
  Json& Element() { return Open('{', '}'); }  // an object inside an array
  Json& End() {
    text_.push_back(closers_[--depth_]);
    comma_ = true;
    return *this;
  }
  Json& Str(std::string_view key, std::string_view value) { return Key(key).Quoted(value); }
  Json& Text(std::string_view value) { return Separate().Quoted(value); }  // array element
  Json& Int(std::string_view key, int64_t value) {
    Key(key);
    char buf[24];
    const auto result = std::to_chars(buf, buf + sizeof buf, value);
    text_.append(buf, result.ptr);
    comma_ = true;
    return *this;
  }
  Json& Bool(std::string_view key, bool value) {
    Key(key).text_.append(value ? "true" : "false");
    comma_ = true;
    return *this;
  }
  Json& Date(std::string_view key, int day) {
    Key(key).text_.push_back('"');
    AppendDate(&text_, day);
    text_.push_back('"');
    comma_ = true;
    return *this;
  }
  // Closes whatever is still open and returns the text.
  const std::string& Finish() {
    while (depth_ > 0) End();
    return text_;
  }

 private:
  Json& Separate() {
    if (comma_) text_.push_back(',');
    return *this;
  }
  Json& Open(char open, char close) {
    Separate();
    text_.push_back(open);
    closers_[depth_++] = close;
    comma_ = false;
    return *this;
  }
  Json& Key(std::string_view key) {
    Separate();
    text_.push_back('"');
    text_.append(key);
    text_.append("\":");
    comma_ = false;
    return *this;
  }
  Json& Quoted(std::string_view value) {
    text_.push_back('"');
    for (char c : value) {
      if (c == '"' || c == '\\') {
        text_.push_back('\\');
        text_.push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        text_.append("\\u00");
        text_.push_back(kHex[(c >> 4) & 0xf]);
        text_.push_back(kHex[c & 0xf]);
      } else {
        text_.push_back(c);
      }
    }
    text_.push_back('"');
    comma_ = true;
    return *this;
  }

  std::string text_;
  std::array<char, 8> closers_{};
  int depth_ = 0;
  bool comma_ = false;
};

}  // namespace relais::tools::gen

#endif  // RELAIS_TOOLS_GENERATE_JSON_H_
