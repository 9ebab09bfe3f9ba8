#include "backup/erasure_register.h"

#include <simdjson.h>

#include "relais/json_writer.h"
#include "relais/types.h"

namespace relais::backup {

namespace {

bool KnownReason(std::string_view r) {
  return r == "subject_request" || r == "retention_expired" || r == "legal_obligation" ||
         r == "other";
}

}  // namespace

std::string ErasureLine(const relais::ErasureEntry& e) {
  JsonWriter w;
  w.BeginObject();
  w.Key("subject").String(e.subject.text);
  w.Key("id").String(e.id);
  w.Key("recordedAt").String(FormatTimestamp(e.recorded_at));
  w.Key("reason").String(ErasureReasonName(e.reason));
  w.EndObject();
  return w.Take();
}

Result<std::vector<ErasureEntry>> ParseErasureRegister(std::string_view text) {
  if (text.size() > kErasureRegisterBytesMax)
    return Status::InvalidArgument("--erasures: the register is larger than the limit");
  std::vector<ErasureEntry> out;
  simdjson::dom::parser parser;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument("--erasures: line " + std::to_string(line_no) + ": " + why);
    };
    if (line.size() > kErasureLineBytesMax) return bad("longer than the limit");
    simdjson::padded_string padded(line);
    simdjson::dom::object obj;
    if (parser.parse(padded).get(obj)) return bad("not a JSON object");
    ErasureEntry e;
    std::string_view s;
    std::string why;
    if (obj["subject"].get(s)) return bad("no 'subject'");
    auto subject = ParseSubject(s, &why);
    if (!subject || subject->kind != StreamKind::kHousehold)
      return bad("'subject' is not household/<id>");
    e.subject = subject->text;
    if (obj["id"].get(s) || !ParseUuid(s)) return bad("'id' is not a UUID");
    e.id = std::string(s);
    if (obj["recordedAt"].get(s) || !ParseTimestamp(s)) return bad("'recordedAt' is not an instant");
    e.recorded_at = std::string(s);
    if (obj["reason"].get(s) || !KnownReason(s))
      return bad("'reason' is not one of subject_request, retention_expired, legal_obligation, "
                 "other");
    e.reason = std::string(s);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace relais::backup
