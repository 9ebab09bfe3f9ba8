#include "read/record_decoder.h"

#include <unordered_map>

#include "log/log_format.h"
#include "write/stored_template.h"

namespace relais::read {

using write::DataBytesOf;
using write::StoredMessage;

Result<std::vector<std::string>> StreamValues(log::Store& store, const Subject& subject,
                                              const log::Store::Snapshot* at, CacheUse cache) {
  const bool fill = cache == CacheUse::kFill;
  // A new stream (the common case in an import) is answered by the stream
  // family's bloom filters without a seek.
  std::string first;
  bool exists = false;
  RETURN_IF_ERROR(store.Get(log::Store::kStream, log::StreamKey(subject.text, 0), &first, &exists, at, fill));
  if (!exists) return std::vector<std::string>();
  std::vector<std::string> keys;
  RETURN_IF_ERROR(store.Scan(log::Store::kStream, log::StreamPrefix(subject.text), {},
                             [&](std::string_view, std::string_view v) {
                               keys.push_back(std::string(v.substr(0, 8)));
                               return true;
                             }, at, fill));
  std::vector<std::string> values;
  std::vector<bool> found;
  RETURN_IF_ERROR(store.MultiGet(log::Store::kLog, keys, &values, &found, at, fill));
  for (size_t i = 0; i < values.size(); ++i)
    if (!found[i])
      return Status::Corruption("the stream index of " + subject.text +
                                " names a missing position " +
                                std::to_string(log::GetBE64(keys[i])));
  return values;
}

Status LoadRecords(log::Store& store, const Subject& subject, std::vector<EventRecord>* out,
                   const log::Store::Snapshot* at, CacheUse cache) {
  ASSIGN_OR_RETURN(std::vector<std::string> values, StreamValues(store, subject, at, cache));
  return RecordsFromValues(subject, values, out);
}

EventRecord RecordOf(schema::StoredEvent::Reader se, const Subject& subject) {
  EventRecord r;
  r.position = se.getPosition();
  r.version = se.getVersion();
  r.id = write::IdOf(se.getId());
  r.effective = Date{se.getEffectiveDate()};
  r.recorded = Timestamp{se.getRecordedAt()};
  r.fact = codec::ToFact(se.getData(), subject);
  r.type = r.fact.type;
  r.corrected_effective = r.effective;
  return r;
}

void ApplyCorrection(schema::EventData::Reader correction, std::string* target_data,
                     Date* target_effective) {
  auto c = correction.getEventCorrected();
  if (c.getEffectiveDate() != schema::K_NO_DATE) *target_effective = Date{c.getEffectiveDate()};
  if (!c.hasData()) return;
  capnp::FlatArrayMessageReader base_reader(kj::arrayPtr(
      reinterpret_cast<const capnp::word*>(target_data->data()), target_data->size() / 8));
  auto merged = codec::MergeData(base_reader.getRoot<schema::EventData>(), c.getData(),
                                 c.getFields());
  *target_data = DataBytesOf(merged->getRoot<schema::EventData>().asReader());
}

Status RecordsFromValues(const Subject& subject, const std::vector<std::string>& values,
                         std::vector<EventRecord>* out) {
  out->clear();
  out->reserve(values.size());
  // Data of corrected targets, folded as their corrections come (position order).
  std::unordered_map<Uuid, std::pair<std::string, Date>, UuidHash> current;
  for (size_t i = 0; i < values.size(); ++i) {
    ASSIGN_OR_RETURN(StoredMessage m, StoredMessage::Decode(values[i]));
    auto se = m.Root();
    EventRecord r = RecordOf(se, subject);
    if (r.type == EventType::kEventCorrected) {
      auto it = current.find(r.fact.target_id);
      if (it == current.end()) {
        // Find the target among the records read so far.
        for (size_t j = 0; j < i; ++j)
          if ((*out)[j].id == r.fact.target_id) {
            ASSIGN_OR_RETURN(StoredMessage tm, StoredMessage::Decode(values[j]));
            it = current
                     .emplace(r.fact.target_id,
                              std::make_pair(DataBytesOf(tm.Root().getData()), (*out)[j].effective))
                     .first;
            break;
          }
      }
      if (it != current.end()) {
        ApplyCorrection(se.getData(), &it->second.first, &it->second.second);
        capnp::FlatArrayMessageReader mr(
            kj::arrayPtr(reinterpret_cast<const capnp::word*>(it->second.first.data()),
                         it->second.first.size() / 8));
        Fact merged = codec::ToFact(mr.getRoot<schema::EventData>(), subject);
        merged.target_id = r.fact.target_id;
        r.fact = std::move(merged);
        r.corrected_effective = it->second.second;
      }
    }
    out->push_back(std::move(r));
  }
  return Status::Ok();
}

Result<StoredEventView> View(std::string_view value, write::Sealer& sealer,
                             const cache::ErasedSet* erased) {
  ASSIGN_OR_RETURN(StoredMessage m, StoredMessage::Decode(value));
  auto se = m.Root();
  StoredEventView v;
  std::string why;
  auto subject = ParseSubject(se.getSubject().cStr(), &why);
  if (!subject) return Status::Corruption("stored subject is invalid: " + why);
  v.subject = std::move(*subject);
  v.record = RecordOf(se, v.subject);
  v.actor.id = se.getActor().getId().cStr();
  v.actor.role = std::string(codec::RoleName(se.getActor().getRole()));
  v.actor.org = se.getActor().getOrg().cStr();
  v.hash = crypto::ToHex(m.hash());
  auto prev = se.getPrevHash();
  v.prev_hash = crypto::ToHex(prev.begin(), prev.size());
  bool unsealed = true;
  std::unique_ptr<capnp::MallocMessageBuilder> full;
  if (se.hasSealed() && erased && erased->Contains(v.subject.text)) {
    // Not even tried: the key may still exist in the moment between the
    // event's commit and its destruction, or after a crash in it.
    full = std::make_unique<capnp::MallocMessageBuilder>(512);
    full->setRoot(se.getData());
    unsealed = false;
  } else {
    ASSIGN_OR_RETURN(full, sealer.FullData(se, v.subject.text, &unsealed));
  }
  v.personal_data_erased = se.hasSealed() && !unsealed;
  JsonWriter w;
  codec::DataToJson(full->getRoot<schema::EventData>().asReader(), w,
                    unsealed ? codec::PersonalFields::kShow : codec::PersonalFields::kOmit);
  v.data_json = w.Take();
  return v;
}

}  // namespace relais::read
