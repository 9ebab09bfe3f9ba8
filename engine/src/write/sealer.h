// Sealing of households' personal data over the key store.
//
// The personal fields of a household event are moved out of its data into
// `sealed`, encrypted with the household's key. Keys are created only by the
// writer, when it accepts the household's first sealed event (Adopt): off the
// writer an event is sealed with the stored key or with a candidate from
// NewKey, and the writer re-seals when it adopted another candidate first.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "codec/codec.h"
#include "crypto/crypto.h"
#include "crypto/keystore.h"
#include "relais/status.h"

namespace relais::write {

// The key store as sealing uses it: an interface, so that admission can be
// tested with keys in memory.
class KeySource {
 public:
  virtual ~KeySource() = default;
  // nullopt: the household has no key. A read error is an error, never "no key".
  virtual Result<std::optional<crypto::Key>> Find(const std::string& household) = 0;
  virtual crypto::Key NewKey() = 0;
  // Writer only: the household's key, `candidate` if it had none.
  virtual Result<crypto::Key> Adopt(const std::string& household, const crypto::Key& candidate) = 0;
};

// The real one.
class KeyStoreSource : public KeySource {
 public:
  explicit KeyStoreSource(crypto::KeyStore* keys) : keys_(keys) {}
  Result<std::optional<crypto::Key>> Find(const std::string& household) override {
    return keys_->Find(household);
  }
  crypto::Key NewKey() override { return keys_->NewKey(); }
  Result<crypto::Key> Adopt(const std::string& household, const crypto::Key& candidate) override {
    return keys_->Adopt(household, candidate);
  }

 private:
  crypto::KeyStore* keys_;
};

class Sealer {
 public:
  explicit Sealer(KeySource* keys) : keys_(keys) {}

  // Moves the personal fields of a household event into `sealed`, sealed
  // with the key `key_for` gives (asked only when there is something to
  // seal); `sealed_with` tells which (nullopt: nothing sealed).
  static Status SealInto(const codec::ParsedEvent& e, schema::StoredEvent::Builder se,
                         const std::function<Result<crypto::Key>()>& key_for,
                         std::optional<crypto::Key>* sealed_with);

  // Off the writer: with the household's key if it has one, else a
  // candidate. Never a key created here: only the writer creates keys.
  Status SealWithCandidate(const codec::ParsedEvent& e, schema::StoredEvent::Builder se,
                           std::optional<crypto::Key>* sealed_with);

  // The event's data with its personal fields put back. `*unsealed` is false
  // when the event has sealed personal data that cannot be opened (its key is
  // gone or does not open it): the data then holds only their placeholders,
  // which are not values and must not be shown as such (kOmit). A key store
  // read error is an error, never "no key".
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> FullData(schema::StoredEvent::Reader se,
                                                                const std::string& subject,
                                                                bool* unsealed);

  KeySource* keys() { return keys_; }

 private:
  KeySource* keys_;
};

// The keys one request being accepted seals with, on the writer: each
// household's stored key, else (a new household) the candidate its first
// event was sealed with, adopted (Adopt) once nothing can refuse the request.
class RequestKeys {
 public:
  explicit RequestKeys(KeySource* keys) : keys_(keys) {}
  Result<crypto::Key> KeyOf(const std::string& household,
                            const std::optional<crypto::Key>& candidate);
  // Whether an event sealed off the writer with `sealed_with` must be sealed
  // again: another request's key for its household was adopted since (two
  // first events racing).
  Result<bool> NeedsReseal(const std::string& household, const crypto::Key& sealed_with);
  Status Adopt();

 private:
  KeySource* keys_;
  std::map<std::string, crypto::Key> adopt_;
};

}  // namespace relais::write
