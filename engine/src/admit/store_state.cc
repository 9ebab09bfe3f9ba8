#include "admit/store_state.h"

#include "log/log_format.h"
#include "write/stored_template.h"

namespace relais::admit {

Result<std::optional<GroupEvent>> StoreState::FindId(const Uuid& id) {
  std::string value;
  bool found = false;
  RETURN_IF_ERROR(store_->Get(log::Store::kId, id.AsBytes(), &value, &found));
  if (!found) return std::optional<GroupEvent>();
  Position p = log::GetBE64(value);
  std::string ev;
  bool f2 = false;
  RETURN_IF_ERROR(store_->Get(log::Store::kLog, log::PositionKey(p), &ev, &f2));
  if (!f2) return Status::Corruption("the id index names a missing position");
  ASSIGN_OR_RETURN(write::StoredMessage m, write::StoredMessage::Decode(ev));
  auto se = m.Root();
  GroupEvent existing;
  existing.position = p;
  existing.version = se.getVersion();
  existing.subject = se.getSubject().cStr();
  existing.type = codec::TypeOf(se.getData());
  existing.effective = Date{se.getEffectiveDate()};
  bool unsealed = true;
  ASSIGN_OR_RETURN(auto fd, sealer_->FullData(se, existing.subject, &unsealed));
  // An event whose personal data cannot be opened cannot be compared with a
  // re-sent one: refuse rather than guess (id_conflict, in admission).
  existing.full_data =
      unsealed ? write::DataBytesOf(fd->getRoot<schema::EventData>().asReader()) : std::string();
  return std::optional<GroupEvent>(std::move(existing));
}

Result<bool> StoreState::HasVersion(const std::string& subject, StreamVersion v) {
  std::string got;
  bool exists = false;
  RETURN_IF_ERROR(store_->Get(log::Store::kStream, log::StreamKey(subject, v), &got, &exists));
  return exists;
}

Result<std::string> StoreState::DataAt(Position p) {
  std::string value;
  bool found = false;
  RETURN_IF_ERROR(store_->Get(log::Store::kLog, log::PositionKey(p), &value, &found));
  if (!found) return Status::Corruption("position " + std::to_string(p) + " is missing");
  ASSIGN_OR_RETURN(write::StoredMessage m, write::StoredMessage::Decode(value));
  return write::DataBytesOf(m.Root().getData());
}

}  // namespace relais::admit
