#include "write/sealer.h"

#include "write/stored_template.h"

namespace relais::write {

Status Sealer::SealInto(const codec::ParsedEvent& e, schema::StoredEvent::Builder se,
                        const std::function<Result<crypto::Key>()>& key_for,
                        std::optional<crypto::Key>* sealed_with) {
  *sealed_with = std::nullopt;
  if (e.subject.kind != StreamKind::kHousehold) return Status::Ok();
  capnp::MallocMessageBuilder personal(256);
  if (!codec::SplitPersonal(se.getData(), personal.initRoot<schema::EventData>()))
    return Status::Ok();
  ASSIGN_OR_RETURN(crypto::Key key, key_for());
  *sealed_with = key;
  std::string sealed =
      crypto::Seal(key, e.id, codec::Canonical(personal.getRoot<schema::EventData>().asReader()));
  se.setSealed(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size()));
  return Status::Ok();
}

Status Sealer::SealWithCandidate(const codec::ParsedEvent& e, schema::StoredEvent::Builder se,
                                 std::optional<crypto::Key>* sealed_with) {
  return SealInto(e, se, [&]() -> Result<crypto::Key> {
    ASSIGN_OR_RETURN(std::optional<crypto::Key> k, keys_->Find(e.subject.text));
    if (k) return *k;
    return keys_->NewKey();
  }, sealed_with);
}

Result<std::unique_ptr<capnp::MallocMessageBuilder>> Sealer::FullData(
    schema::StoredEvent::Reader se, const std::string& subject, bool* unsealed) {
  auto msg = std::make_unique<capnp::MallocMessageBuilder>(512);
  msg->setRoot(se.getData());
  *unsealed = true;
  if (!se.hasSealed()) return msg;
  ASSIGN_OR_RETURN(std::optional<crypto::Key> key, keys_->Find(subject));
  *unsealed = false;
  if (!key) return msg;
  auto sealed = se.getSealed();
  auto plain = crypto::Open(*key, IdOf(se.getId()),
                            {reinterpret_cast<const char*>(sealed.begin()), sealed.size()});
  if (!plain || plain->size() % 8 != 0) return msg;
  std::string framed = WithSegmentTable(*plain);
  capnp::FlatArrayMessageReader pr(kj::arrayPtr(
      reinterpret_cast<const capnp::word*>(framed.data()), framed.size() / 8));
  codec::MergePersonal(msg->getRoot<schema::EventData>(), pr.getRoot<schema::EventData>());
  *unsealed = true;
  return msg;
}

Result<crypto::Key> RequestKeys::KeyOf(const std::string& household,
                                       const std::optional<crypto::Key>& candidate) {
  if (auto it = adopt_.find(household); it != adopt_.end()) return it->second;
  ASSIGN_OR_RETURN(std::optional<crypto::Key> k, keys_->Find(household));
  if (k) return *k;
  return adopt_.emplace(household, candidate ? *candidate : keys_->NewKey()).first->second;
}

Result<bool> RequestKeys::NeedsReseal(const std::string& household, const crypto::Key& sealed_with) {
  ASSIGN_OR_RETURN(crypto::Key key, KeyOf(household, sealed_with));
  return key != sealed_with;
}

Status RequestKeys::Adopt() {
  for (const auto& [household, key] : adopt_) {
    ASSIGN_OR_RETURN(crypto::Key adopted, keys_->Adopt(household, key));
    // The writer is the only adopter, and it found no key when it chose.
    if (adopted != key)
      return Status::Internal("the key of " + household + " changed under the writer");
  }
  return Status::Ok();
}

}  // namespace relais::write
