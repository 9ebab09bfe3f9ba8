#include "relais/projections/evidence.h"

#include <simdjson.h>

#include "relais/evidence.h"
#include "relais/hex.h"
#include "relais/projections/views.h"

namespace relais::projections {

namespace {

void WriteHashes(JsonWriter& w, const std::vector<std::string>& hashes) {
  w.Key("hashes").BeginArray();
  for (const auto& h : hashes) w.String(h);
  w.EndArray();
}

void WriteInclusion(JsonWriter& w, const InclusionProof& p) {
  w.BeginObject();
  w.Key("position").Uint(p.position);
  w.Key("size").Uint(p.size);
  w.Key("leafHash").String(p.leaf_hash);
  WriteHashes(w, p.hashes);
  w.EndObject();
}

// Standard base64 (RFC 4648 §4), as in the checkpoint notes.
std::string Base64(std::string_view in) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8 |
                 static_cast<uint8_t>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace

std::string InclusionJson(const InclusionProof& p) {
  JsonWriter w;
  WriteInclusion(w, p);
  return w.Take();
}

std::string ConsistencyJson(const ConsistencyProof& p) {
  JsonWriter w;
  w.BeginObject();
  w.Key("from").Uint(p.from);
  w.Key("size").Uint(p.size);
  WriteHashes(w, p.hashes);
  w.EndObject();
  return w.Take();
}

Result<std::string> EvidenceBundle(Engine& engine, std::string_view subject,
                                   std::optional<Timestamp> known_at, std::string_view view_json,
                                   const std::optional<std::string>& since) {
  simdjson::dom::parser parser;
  simdjson::dom::element view;
  simdjson::dom::array events;
  if (parser.parse(view_json.data(), view_json.size(), true).get(view) ||
      view["events"].get_array().get(events))
    return Status::Internal("the view to make evidence of has no events array");
  // The head known at T; unset, the head now (after the view was read, so it
  // covers every event the view holds).
  ViewTime t;
  t.known_at = known_at;
  ASSIGN_OR_RETURN(Position size, KnownAtPosition(engine, t));
  ASSIGN_OR_RETURN(std::string checkpoint, engine.Checkpoint(size));

  std::optional<ConsistencyProof> consistency;
  if (since) {
    ASSIGN_OR_RETURN(std::string key, engine.VerifierKey());
    auto old = evidence::OpenCheckpoint(*since, key);
    if (!old.ok()) return Status::Corruption("--since: " + old.status().message());
    if (old->size > size)
      return Status::Corruption("--since: the checkpoint's size " + std::to_string(old->size) +
                                " is past the head known at that time (" + std::to_string(size) + ")");
    ASSIGN_OR_RETURN(std::string root, engine.TreeRoot(old->size));
    if (root != old->root)
      return Status::Corruption("--since: this log never had that root at size " +
                                std::to_string(old->size) + " (not a checkpoint this log signed)");
    if (old->size > 0) {
      ASSIGN_OR_RETURN(ConsistencyProof c, engine.ProveConsistency(old->size, size));
      consistency = std::move(c);
    } else {
      consistency = ConsistencyProof{0, size, {}};
    }
  }

  bool filtered = false;
  if (view["filtered"].get_bool().get(filtered)) filtered = false;
  JsonWriter w;
  w.BeginObject();
  w.Key("subject").String(subject);
  w.Key("knownAt");
  if (known_at) {
    w.String(FormatTimestamp(*known_at));
  } else {
    w.Null();
  }
  if (filtered) w.Key("filtered").Bool(true);
  w.Key("checkpoint").String(checkpoint);
  w.Key("events").BeginArray();
  for (auto ev : events) {
    uint64_t position = 0;
    if (ev["position"].get_uint64().get(position)) return Status::Internal("a view event without position");
    if (position > size) continue;
    ASSIGN_OR_RETURN(std::string value, engine.StoredValue(position));
    ASSIGN_OR_RETURN(InclusionProof proof, engine.ProveInclusion(position, size));
    std::string_view stored = std::string_view(value).substr(32);
    // prevHash is the struct's last pointer: read it back from the view's
    // previous event rather than decode here.
    ASSIGN_OR_RETURN(std::string prev, engine.HashAt(position - 1));
    w.BeginObject();
    w.Key("event").Raw(simdjson::minify(ev));
    w.Key("stored").String(Base64(stored));
    w.Key("prevHash").String(prev);
    w.Key("inclusion");
    WriteInclusion(w, proof);
    w.EndObject();
  }
  w.EndArray();
  if (since) {
    w.Key("since").String(*since);
    w.Key("consistency").Raw(ConsistencyJson(*consistency));
  }
  w.EndObject();
  return w.Take();
}

}  // namespace relais::projections
