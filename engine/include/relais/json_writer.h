// A small streaming JSON writer: deterministic output, no DOM.
//
// Keys are written in the order the caller gives them; the caller owns the
// shape. Strings are escaped per RFC 8259 (control characters as \u00XX).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace relais {

class JsonWriter {
 public:
  // Pretty-printing indents with one space per level, like the contract's examples.
  explicit JsonWriter(bool pretty = false) : pretty_(pretty) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view k);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Uint(uint64_t v);
  JsonWriter& Double(double v);  // shortest form that reads back; 1.0 stays "1.0"
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // Inserts already-serialised JSON as one value.
  JsonWriter& Raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }
  // Empties the writer for the next document, keeping its buffer's capacity
  // (the generator writes millions of small objects through one writer).
  void Clear() {
    out_.clear();
    first_.clear();
    after_key_ = false;
  }
  // Containers begun and not yet ended.
  size_t depth() const { return first_.size(); }

 private:
  void BeforeValue();
  void Newline();
  bool pretty_;
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

void AppendJsonString(std::string& out, std::string_view s);

}  // namespace relais
