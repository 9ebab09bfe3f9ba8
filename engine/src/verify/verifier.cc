#include "verify/verifier.h"

#include <capnp/serialize.h>

#include <cstring>
#include <set>
#include <string>
#include <unordered_map>

#include "codec/codec.h"
#include "crypto/crypto.h"
#include "log/log_format.h"
#include "read/record_decoder.h"
#include "verify/snapshot_check.h"
#include "write/stored_template.h"

namespace relais::verify {

// A verify reads every event once: past the block cache, which keeps what a
// server reads again and again.
constexpr bool kBypass = false;

VerifyReport Verify(log::Store* store, crypto::KeyStore* keys,
                    const std::function<void(Position, Position)>& progress,
                    const std::function<void(Position, const crypto::Hash&)>& on_hash,
                    const log::Store::Snapshot* at) {
  VerifyReport rep;
  auto bad = [&](Position p, std::string problem) {
    if (rep.ok) {
      rep.ok = false;
      rep.first_bad_position = p;
      rep.problem = std::move(problem);
    }
  };
  // One snapshot for the whole check: with writers running, the log and its
  // indexes read at different moments would disagree.
  std::unique_ptr<log::Store::Snapshot> own = at ? nullptr : store->TakeSnapshot();
  const log::Store::Snapshot* const snap = at ? at : own.get();
  Position head_position = 0;
  {
    std::string k, v;
    bool found = false;
    if (store->Last(log::Store::kLog, &k, &v, &found, snap).ok() && found && k.size() == 8)
      head_position = log::GetBE64(k);
  }
  // The erasure index (log_format.h): the households whose keys are
  // destroyed on purpose. Each entry must name its PersonalDataErased.
  std::unordered_map<std::string, Position> erasures;
  Status index_st = store->Scan(log::Store::kMeta, log::kErasurePrefix, {},
                                [&](std::string_view k, std::string_view v) {
                                  erasures[std::string(k.substr(sizeof(log::kErasurePrefix) - 1))] =
                                      v.size() == 8 ? log::GetBE64(v) : 0;
                                  return true;
                                }, snap);
  if (!index_st.ok()) {
    bad(0, index_st.message());
    return rep;
  }
  size_t erasures_met = 0;
  crypto::Hash prev{};
  Position expected = 1;
  std::unordered_map<std::string, StreamVersion> versions;
  // (dwelling, household) pairs the household events name: the ref index
  // must hold each of them.
  std::set<std::string> expected_refs;
  // The data of each corrected event with its corrections so far folded in,
  // by the target's id (corrections are rare: this stays small).
  std::unordered_map<Uuid, std::string, UuidHash> corrected;
  // A correction's target, an earlier event (admission refuses any other),
  // read at the snapshot by the id index.
  auto TargetData = [&](const Uuid& id, Position before) -> Result<std::string> {
    std::string pos, value;
    bool found = false;
    RETURN_IF_ERROR(store->Get(log::Store::kId, id.AsBytes(), &pos, &found, snap, kBypass));
    if (found && pos.size() == 8 && log::GetBE64(pos) < before)
      RETURN_IF_ERROR(store->Get(log::Store::kLog, pos, &value, &found, snap, kBypass));
    if (!found || pos.size() != 8 || log::GetBE64(pos) >= before)
      return Status::Corruption("the correction's target " + FormatUuid(id) +
                                " is not an earlier event of the log");
    ASSIGN_OR_RETURN(write::StoredMessage target, write::StoredMessage::Decode(value));
    return write::DataBytesOf(target.Root().getData());
  };
  int64_t last_recorded = INT64_MIN;
  Status st = store->Scan(log::Store::kLog, {}, {}, [&](std::string_view key, std::string_view value) {
    Position p = key.size() == 8 ? log::GetBE64(key) : 0;
    if (p != expected) {
      bad(expected, "the log has no event at position " + std::to_string(expected) +
                        " (next key is position " + std::to_string(p) + ")");
      return false;
    }
    auto m = write::StoredMessage::Decode(value);
    if (!m.ok()) {
      bad(p, m.status().message());
      return false;
    }
    auto se = m->Root();
    if (crypto::Sha256(m->Bytes()) != m->hash()) {
      bad(p, "the stored hash does not match the event's bytes (tampered or corrupt)");
      return false;
    }
    auto ph = se.getPrevHash();
    if (ph.size() != 32 || std::memcmp(ph.begin(), prev.data(), 32) != 0) {
      bad(p, "prevHash does not match the hash of the previous event (chain broken)");
      return false;
    }
    if (se.getPosition() != p) {
      bad(p, "the event's position field disagrees with its key");
      return false;
    }
    // Transaction time never goes back (events.md §1; PositionAt relies on it).
    if (se.getRecordedAt() < last_recorded) {
      bad(p, "recordedAt is earlier than the previous event's");
      return false;
    }
    last_recorded = se.getRecordedAt();
    std::string subject = se.getSubject().cStr();
    if (subject.rfind("household/", 0) == 0) {
      std::string why;
      const Subject household = *ParseSubject(subject, &why);
      Fact f = codec::ToFact(se.getData(), household);
      if (!f.dwelling_id.empty()) expected_refs.insert(log::RefKey(f.dwelling_id, subject.substr(10)));
      if (f.type == EventType::kEventCorrected) {
        // Admission indexes the pair of the corrected fact (the correction
        // folded into its target, as read::RecordsFromValues folds it): a
        // correction of OccupancyStarted D1 -> D2 adds (D2, household).
        auto it = corrected.find(f.target_id);
        if (it == corrected.end()) {
          auto target = TargetData(f.target_id, p);
          if (!target.ok()) {
            bad(p, target.status().message());
            return false;
          }
          it = corrected.emplace(f.target_id, std::move(*target)).first;
        }
        Date effective{};  // the corrected date: not what the index needs
        read::ApplyCorrection(se.getData(), &it->second, &effective);
        capnp::FlatArrayMessageReader merged_reader(kj::arrayPtr(
            reinterpret_cast<const capnp::word*>(it->second.data()), it->second.size() / 8));
        Fact merged = codec::ToFact(merged_reader.getRoot<schema::EventData>(), household);
        if (!merged.dwelling_id.empty())
          expected_refs.insert(log::RefKey(merged.dwelling_id, subject.substr(10)));
      }
      // Sealed personal data opens with the household's key: a lost or
      // replaced key is damage, not an empty field.
      auto erasure = erasures.find(subject);
      if (se.getData().which() == schema::EventData::PERSONAL_DATA_ERASED) {
        if (erasure == erasures.end() || erasure->second != p) {
          bad(p, "the erasure index does not point to this PersonalDataErased");
          return false;
        }
        ++erasures_met;
      }
      // An erased household's key is destroyed: its sealed data no longer
      // opens, by design (lifecycle.md §1).
      if (se.hasSealed() && erasure == erasures.end()) {
        auto key = keys->Find(subject);
        if (!key.ok()) {
          bad(p, key.status().message());
          return false;
        }
        if (!*key) {
          // The keys are read live, not at the snapshot: an erasure that
          // committed after it destroyed this key on purpose. The live
          // erasure index names the household from the event's own write,
          // before the key's destruction (Engine::Erase). Looking there
          // rather than holding the erasures' lock keeps a verify of a big
          // log (minutes) from blocking Erase.
          std::string at;
          bool erased_since = false;
          Status live = store->Get(log::Store::kMeta, log::ErasureKey(subject), &at, &erased_since);
          if (!live.ok()) {
            bad(p, live.message());
            return false;
          }
          if (!erased_since) {
            bad(p, "the key of " + subject +
                       " is missing: the event's personal data cannot be opened");
            return false;
          }
        } else {
          auto sealed = se.getSealed();
          if (!crypto::Open(**key, write::IdOf(se.getId()),
                            {reinterpret_cast<const char*>(sealed.begin()), sealed.size()})) {
            bad(p, "the event's personal data does not open with the key of " + subject);
            return false;
          }
        }
      }
    }
    StreamVersion& v = versions.try_emplace(subject, -1).first->second;
    if (static_cast<StreamVersion>(se.getVersion()) != v + 1) {
      bad(p, "stream " + subject + " version " + std::to_string(se.getVersion()) +
                 " is not the next one (" + std::to_string(v + 1) + ")");
      return false;
    }
    v += 1;
    // Indexes, from the log's side.
    std::string pos_value, got;
    log::PutBE64(&pos_value, p);
    bool found = false;
    Status s = store->Get(log::Store::kStream, log::StreamKey(subject, se.getVersion()), &got, &found,
                           snap, kBypass);
    if (!s.ok() || !found || got != pos_value) {
      bad(p, "the stream index does not point to this event");
      return false;
    }
    s = store->Get(log::Store::kId, {reinterpret_cast<const char*>(se.getId().begin()), se.getId().size()},
                    &got, &found, snap, kBypass);
    if (!s.ok() || !found || got != pos_value) {
      bad(p, "the id index does not point to this event");
      return false;
    }
    prev = m->hash();
    ++rep.events;
    if (on_hash) on_hash(p, m->hash());
    if (progress && p % 50000 == 0) progress(p, head_position);
    ++expected;
    return true;
  }, snap);
  if (!st.ok()) bad(expected, st.message());
  if (!rep.ok) return rep;
  if (erasures_met != erasures.size())
    bad(rep.events, "the erasure index names " + std::to_string(erasures.size()) +
                        " households, the log erases " + std::to_string(erasures_met));
  if (!rep.ok) return rep;
  // Indexes, from their side: no entry may point elsewhere or past the end.
  int64_t stream_entries = 0, id_entries = 0;
  st = store->Scan(log::Store::kStream, {}, {}, [&](std::string_view, std::string_view v) {
    ++stream_entries;
    if (v.size() != 8 || log::GetBE64(v) == 0 || log::GetBE64(v) > static_cast<Position>(rep.events)) {
      bad(v.size() == 8 ? log::GetBE64(v) : 0, "the stream index has an entry outside the log");
      return false;
    }
    return true;
  }, snap);
  if (st.ok() && rep.ok)
    st = store->Scan(log::Store::kId, {}, {}, [&](std::string_view, std::string_view v) {
      ++id_entries;
      if (v.size() != 8 || log::GetBE64(v) == 0 || log::GetBE64(v) > static_cast<Position>(rep.events)) {
        bad(v.size() == 8 ? log::GetBE64(v) : 0, "the id index has an entry outside the log");
        return false;
      }
      return true;
    }, snap);
  // The ref index: every pair a household event names is there, and every
  // entry names a household stream of the log (a correction may add a pair
  // its target did not name, so extra pairs of known households are fine).
  if (st.ok() && rep.ok)
    st = store->Scan(log::Store::kRef, {}, {}, [&](std::string_view k, std::string_view) {
      size_t zero = k.find('\0');
      std::string household = zero == std::string_view::npos ? "" : "household/" + std::string(k.substr(zero + 1));
      if (!versions.count(household)) {
        bad(rep.events, "the dwelling reference index names a household with no event: " + household);
        return false;
      }
      expected_refs.erase(std::string(k));
      return true;
    }, snap);
  if (st.ok() && rep.ok && !expected_refs.empty()) {
    const std::string& missing = *expected_refs.begin();
    bad(rep.events, "the dwelling reference index lacks household " + missing.substr(missing.find('\0') + 1) +
                        " for dwelling " + missing.substr(0, missing.find('\0')));
  }
  if (!st.ok()) bad(expected, st.message());
  if (rep.ok && (stream_entries != rep.events || id_entries != rep.events))
    bad(rep.events, "the indexes hold " + std::to_string(stream_entries) + " stream and " +
                        std::to_string(id_entries) + " id entries for " +
                        std::to_string(rep.events) + " events");
  // The record snapshot, a cache of the log: it must say what the log says.
  if (rep.ok) {
    if (auto problem = CheckRecordSnapshot(*store, snap, static_cast<Position>(rep.events)))
      bad(problem->position, problem->what);
  }
  // Every block of every table file, index and filter blocks included (a
  // flipped byte the scans above did not read), in the log and the key store.
  if (rep.ok) {
    Status sums = store->VerifyChecksums();
    if (sums.ok()) sums = keys->VerifyChecksums();
    if (!sums.ok()) bad(rep.events, sums.message());
  }
  rep.head = crypto::ToHex(prev);
  return rep;
}

}  // namespace relais::verify
