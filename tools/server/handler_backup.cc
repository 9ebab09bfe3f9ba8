// POST /v1/backup {"dest"}: a consistent copy of the whole data directory
// while writers run (admin only; `dest` is a path on the server's machine).
// The server holds the directory's lock, so `relais backup` on a served
// directory exits 6 and names this route (interfaces.md §3).
#include <simdjson.h>

#include <filesystem>

#include "backup/backup.h"
#include "relais/json_writer.h"
#include "server/handlers.h"
#include "server/json_body.h"

namespace relais::server {

Response Backup(State& s, const Caller& caller, const std::string& body) {
  if (caller.role != Role::kAdmin) return Forbidden("only an admin may take a backup");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view dest;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS || !doc.is_object() ||
      doc["dest"].get(dest) != simdjson::SUCCESS || dest.empty())
    return Error(http::status::bad_request, "malformed", "malformed",
                 "the body must be {\"dest\": \"<absolute path on the server>\"}");
  if (auto bad = RejectUnknownFields(doc, {"dest"})) return *bad;
  if (dest.front() != '/')
    return Error(http::status::bad_request, "malformed", "malformed",
                 "dest must be an absolute path (the server's working directory is not the caller's)");
  // The largest read there is (every household's data, keys included, to a
  // path the caller names): journaled, and refused if it cannot be.
  if (!s.JournalText(caller, "*", "/v1/backup", true).ok())
    return Error(http::status::service_unavailable, "unavailable", "journal_unavailable",
                 "the access journal cannot be written; backups are refused until it can");
  // The journal's files keep their names while they are listed and copied.
  AccessJournal::RotationHold hold = s.journal->HoldRotation();
  auto m = backup::BackupDataDir(*s.engine, s.options.data_dir, std::string(dest));
  if (!m.ok()) {
    if (m.status().code() == StatusCode::kInvalidArgument)
      return Error(http::status::bad_request, "malformed", "malformed", m.status().message());
    if (m.status().code() == StatusCode::kResourceExhausted)
      return Error(http::status::service_unavailable, "unavailable", "busy", m.status().message());
    return Internal(m.status().message());
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("dest").String(std::filesystem::path(dest).lexically_normal().string());
  w.Key("position").Uint(m->position);
  w.Key("head").String(m->head);
  w.EndObject();
  return Json(w.Take());
}

}  // namespace relais::server
