// GET /v1/audit/access?subject=&from=&to=&limit=&cursor=: the access
// journal, for auditors (and admins), one page at a time across the rotated
// files (server/access_journal.h): `next` is the cursor of the next page.
#include <cctype>
#include <cstdlib>

#include "server/handlers.h"

namespace relais::server {

Response Audit(State& s, const Caller& caller, const Query& q) {
  if (caller.role != Role::kAuditor && caller.role != Role::kAdmin)
    return Forbidden("only auditors read the access journal");
  std::optional<Timestamp> from, to;
  for (const char* key : {"from", "to"}) {
    auto v = Param(q, key);
    if (!v || v->empty()) continue;
    auto ts = ParseTimestamp(*v);
    if (!ts) return Malformed(std::string(key) + ": '" + *v + "' is not an RFC 3339 UTC instant");
    (std::string_view(key) == "from" ? from : to) = ts;
  }
  JournalQuery jq;
  jq.subject = Param(q, "subject").value_or("");
  jq.from = from;
  jq.to = to;
  jq.cursor = Param(q, "cursor").value_or("");
  if (auto v = Param(q, "limit"); v && !v->empty()) {
    char* end = nullptr;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > static_cast<long long>(kJournalQueryEntriesMax) ||
        !std::isdigit(static_cast<unsigned char>(v->front())))
      return Malformed("limit: '" + v->substr(0, 64) + "' is not a whole number from 1 to " +
                       std::to_string(kJournalQueryEntriesMax));
    jq.limit = static_cast<size_t>(n);
  }
  auto json = s.journal->QueryJson(jq);
  if (!json.ok()) {
    if (json.status().code() == StatusCode::kInvalidArgument) return Malformed(json.status().message());
    return Internal(json.status().message());
  }
  return Json(std::move(*json));
}

}  // namespace relais::server
