// relais::evidence::CheckBundle: an evidence bundle checked offline, the way
// docs/evidence.md tells a third party to (no data directory, no keys).
#include <simdjson.h>

#include <cstring>
#include <unordered_set>

#include "crypto/crypto.h"
#include "read/record_decoder.h"
#include "relais/evidence.h"
#include "tree/merkle.h"
#include "tree/note.h"
#include "write/sealer.h"
#include "relais/hex.h"

namespace relais::evidence {

namespace {

// No household key: a bundle's checker sees the personal fields' ciphertext
// only, never their clear text.
class NoKeys : public write::KeySource {
 public:
  Result<std::optional<crypto::Key>> Find(const std::string&) override {
    return std::optional<crypto::Key>();
  }
  crypto::Key NewKey() override { return crypto::Key{}; }
  Result<crypto::Key> Adopt(const std::string&, const crypto::Key& k) override { return k; }
};

// The personal field names (schema $personal): present in an event's data
// only in clear, covered by `stored` only through their ciphertext.
const std::unordered_set<std::string_view>& PersonalNames() {
  static const std::unordered_set<std::string_view> names = {"headOfHousehold", "referrer", "notes",
                                                              "reason", "condition"};
  return names;
}

bool HexToHash(std::string_view hex, crypto::Hash* out) { return FromHex(hex, out->data(), out->size()); }

bool HashList(simdjson::dom::element e, std::vector<crypto::Hash>* out) {
  simdjson::dom::array a;
  if (e.get_array().get(a)) return false;
  if (a.size() > 64) return false;
  for (auto h : a) {
    std::string_view s;
    crypto::Hash x;
    if (h.get_string().get(s) || !HexToHash(s, &x)) return false;
    out->push_back(x);
  }
  return true;
}

std::string Str(simdjson::dom::element e) { return simdjson::minify(e); }

// Where `given` (an event's data as the bundle shows it) differs from
// `stored` (the data decoded from the stored bytes, without keys): every
// non-personal field equal, at any depth (a correction nests its data);
// personal fields may be there in clear or not at all. Empty: no difference.
std::string DataDiff(simdjson::dom::element given, simdjson::dom::element stored,
                     const std::string& path) {
  simdjson::dom::object g, s;
  bool g_obj = !given.get_object().get(g), s_obj = !stored.get_object().get(s);
  if (!g_obj || !s_obj) {
    if (g_obj != s_obj || Str(given) != Str(stored)) return path + " differs from stored";
    return {};
  }
  // A personal name may be missing from the event (a filtered view drops it)
  // or only in the event (sealed: stored decodes without it), but a field
  // that is in both, in clear in stored (an enum `reason`, a dwelling's
  // correction reason), must be equal like any other.
  for (auto [k, v] : s) {
    simdjson::dom::element there;
    if (g[k].get(there)) {
      if (PersonalNames().count(k)) continue;
      return path + "." + std::string(k) + " is missing";
    }
    if (std::string d = DataDiff(there, v, path + "." + std::string(k)); !d.empty()) return d;
  }
  for (auto [k, v] : g) {
    (void)v;
    simdjson::dom::element there;
    if (s[k].get(there) && !PersonalNames().count(k))
      return path + "." + std::string(k) + " is not in stored";
  }
  return {};
}

}  // namespace

Result<SignedCheckpoint> OpenCheckpoint(std::string_view note, std::string_view verifier_key) {
  ASSIGN_OR_RETURN(tree::NoteVerifier v, tree::ParseVerifierKey(verifier_key));
  auto text = tree::OpenNote(note, v);
  if (!text.ok()) return Status::Corruption(text.status().message());
  auto body = tree::ParseCheckpointBody(*text);
  if (!body.ok()) return Status::Corruption(body.status().message());
  if (body->origin != v.name)
    return Status::Corruption("the checkpoint's origin '" + body->origin + "' is not the key's name '" +
                              v.name + "'");
  SignedCheckpoint c;
  c.origin = body->origin;
  c.size = body->size;
  c.root.assign(reinterpret_cast<const char*>(body->root.data()), 32);
  return c;
}

CheckResult CheckBundle(std::string_view bundle_json, std::string_view verifier_key) {
  crypto::InitOnce();
  CheckResult r;
  auto fail = [&](std::string problem) {
    r.ok = false;
    r.problem = std::move(problem);
    return r;
  };
  if (auto v = tree::ParseVerifierKey(verifier_key); !v.ok())
    return fail("the verifier key: " + v.status().message());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(bundle_json.data(), bundle_json.size(), true).get(root) ||
      root.type() != simdjson::dom::element_type::OBJECT)
    return fail("the bundle is not a JSON object");
  std::string_view subject, note;
  simdjson::dom::array events;
  if (root["subject"].get_string().get(subject) || root["checkpoint"].get_string().get(note) ||
      root["events"].get_array().get(events))
    return fail("the bundle lacks subject, checkpoint or events");
  r.subject = std::string(subject);
  auto cp = OpenCheckpoint(note, verifier_key);
  if (!cp.ok()) return fail("checkpoint: " + cp.status().message());
  r.size = cp->size;
  crypto::Hash signed_root;
  std::memcpy(signed_root.data(), cp->root.data(), 32);

  NoKeys no_keys;
  write::Sealer sealer(&no_keys);
  uint64_t index = 0;
  for (auto item : events) {
    std::string where = "events[" + std::to_string(index++) + "]";
    simdjson::dom::element ev, inclusion;
    std::string_view stored_b64, prev_hex;
    if (item["event"].get(ev) || item["stored"].get_string().get(stored_b64) ||
        item["prevHash"].get_string().get(prev_hex) || item["inclusion"].get(inclusion))
      return fail(where + ": lacks event, stored, prevHash or inclusion");
    uint64_t position = 0;
    if (ev["position"].get_uint64().get(position)) return fail(where + ": the event has no position");
    where += " (position " + std::to_string(position) + ")";
    auto stored = tree::UnBase64(stored_b64);
    if (!stored) return fail(where + ": stored is not base64");
    crypto::Hash prev;
    if (!HexToHash(prev_hex, &prev)) return fail(where + ": prevHash is not 64 lowercase hex digits");
    // The hash, recomputed: SHA-256 of the stored bytes, which hold prevHash.
    crypto::Hash hash = crypto::Sha256(*stored);
    std::string value(reinterpret_cast<const char*>(hash.data()), 32);
    value += *stored;
    auto view = read::View(value, sealer);
    if (!view.ok()) return fail(where + ": stored does not decode: " + view.status().message());
    if (view->prev_hash != prev_hex) return fail(where + ": prevHash differs from the one inside stored");
    // The event's fields against the stored bytes.
    auto field = [&](const char* key, std::string_view want) -> bool {
      std::string_view got;
      return !ev[key].get_string().get(got) && got == want;
    };
    std::string_view hash_text;
    if (ev["hash"].get_string().get(hash_text) || hash_text != crypto::ToHex(hash))
      return fail(where + ": hash is not SHA-256 of stored (the event or stored was altered)");
    if (view->record.position != position) return fail(where + ": position differs from stored");
    int64_t version = -1;
    if (ev["version"].get_int64().get(version) || version != view->record.version)
      return fail(where + ": version differs from stored");
    if (!field("id", FormatUuid(view->record.id))) return fail(where + ": id differs from stored");
    if (!field("type", EventTypeName(view->record.type))) return fail(where + ": type differs from stored");
    if (!field("subject", view->subject.text)) return fail(where + ": subject differs from stored");
    if (!field("effectiveDate", FormatDate(view->record.effective)))
      return fail(where + ": effectiveDate differs from stored");
    if (!field("recordedAt", FormatTimestamp(view->record.recorded)))
      return fail(where + ": recordedAt differs from stored");
    simdjson::dom::element actor;
    std::string_view aid, arole, aorg;
    if (ev["actor"].get(actor) || actor["id"].get_string().get(aid) ||
        actor["role"].get_string().get(arole) || actor["org"].get_string().get(aorg) ||
        aid != view->actor.id || arole != view->actor.role || aorg != view->actor.org)
      return fail(where + ": actor differs from stored");
    if (view->subject.text != subject && view->subject.kind != StreamKind::kHousehold)
      return fail(where + ": an event of " + view->subject.text + " in the bundle of " + r.subject);
    // data: every non-personal field as stored; personal ones (in clear, or
    // dropped for the reader) are covered only by their ciphertext.
    simdjson::dom::object data;
    if (ev["data"].get_object().get(data)) return fail(where + ": data is not an object");
    simdjson::dom::parser p2;
    simdjson::dom::element decoded;
    if (p2.parse(view->data_json).get(decoded)) return fail(where + ": stored data does not render");
    if (std::string diff = DataDiff(ev["data"].value_unsafe(), decoded, "data"); !diff.empty())
      return fail(where + ": " + diff);
    // Inclusion in the signed tree.
    uint64_t ip = 0, isize = 0;
    std::string_view leaf_hex;
    simdjson::dom::element hashes;
    std::vector<crypto::Hash> path;
    if (inclusion["position"].get_uint64().get(ip) || inclusion["size"].get_uint64().get(isize) ||
        inclusion["leafHash"].get_string().get(leaf_hex) || inclusion["hashes"].get(hashes) ||
        !HashList(hashes, &path))
      return fail(where + ": inclusion lacks position, size, leafHash or hashes");
    tree::Hash leaf = tree::LeafHash(hash);
    if (ip != position) return fail(where + ": the inclusion proof is for another position");
    if (isize != cp->size) return fail(where + ": the inclusion proof is not for the checkpoint's size");
    if (leaf_hex != crypto::ToHex(leaf)) return fail(where + ": leafHash is not SHA-256(0x00 || hash)");
    if (!tree::VerifyInclusion(position - 1, cp->size, leaf, path, signed_root))
      return fail(where + ": the inclusion proof does not lead to the checkpoint's root");
    ++r.events;
  }
  simdjson::dom::element since;
  if (!root["since"].get(since)) {
    std::string_view since_note;
    simdjson::dom::element cons, hashes;
    std::vector<crypto::Hash> path;
    if (since.get_string().get(since_note)) return fail("since is not a checkpoint");
    auto old = OpenCheckpoint(since_note, verifier_key);
    if (!old.ok()) return fail("since: " + old.status().message());
    uint64_t from = 0, size = 0;
    if (root["consistency"].get(cons) || cons["from"].get_uint64().get(from) ||
        cons["size"].get_uint64().get(size) || cons["hashes"].get(hashes) || !HashList(hashes, &path))
      return fail("since without a consistency proof {from, size, hashes}");
    if (from != old->size || size != cp->size)
      return fail("the consistency proof is not from since's size to the checkpoint's");
    crypto::Hash old_root;
    std::memcpy(old_root.data(), old->root.data(), 32);
    if (old->size == 0) {
      if (old_root != tree::EmptyRoot()) return fail("since: a tree of size 0 with another root");
    } else if (!tree::VerifyConsistency(old->size, cp->size, old_root, signed_root, path)) {
      return fail("the consistency proof does not lead from since's root to the checkpoint's "
                  "(the log was not only appended to)");
    }
    r.since = true;
  }
  r.ok = true;
  return r;
}

}  // namespace relais::evidence
