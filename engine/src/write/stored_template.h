// The stored event's bytes: its envelope encoded once with placeholders, then
// patched in place with what only the writer knows. Pure: no I/O, no keys.
//
// A stored value is hash(32) || canonical StoredEvent. The caller's thread
// encodes the envelope (PreEncode) with placeholders for position, version,
// recordedAt and prevHash; the writer copies those bytes and patches the four
// fields at fixed offsets (Patch), so that its per-event cost is a copy, four
// memcpy and a hash.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "codec/codec.h"
#include "crypto/crypto.h"
#include "relais/engine.h"
#include "relais/status.h"

namespace relais::write {

// A decoded stored value: keeps the aligned words alive for the reader.
class StoredMessage {
 public:
  // `value` is hash(32) || canonical StoredEvent.
  static Result<StoredMessage> Decode(std::string_view value);
  schema::StoredEvent::Reader Root() const { return reader_->getRoot<schema::StoredEvent>(); }
  const crypto::Hash& hash() const { return hash_; }
  std::string_view Bytes() const {
    return {reinterpret_cast<const char*>(words_.begin()), words_.size() * 8};
  }

 private:
  crypto::Hash hash_{};
  kj::Array<capnp::word> words_;
  std::unique_ptr<kj::ArrayPtr<const capnp::word>[]> segments_;
  std::unique_ptr<capnp::SegmentArrayMessageReader> reader_;
};

Uuid IdOf(capnp::Data::Reader d);

// Canonical bytes are a single segment without a segment table; FlatArray
// readers want a table, so this prepends one.
std::string WithSegmentTable(std::string canonical);
// The framed canonical bytes of an event's data (what idempotency compares).
std::string DataBytesOf(schema::EventData::Reader d);

// Fills a stored envelope; the actor is the body's, else the caller's (whose
// role must be a known one: checked before, see Engine's Prepare).
void EncodeEnvelope(const codec::ParsedEvent& e, const AppendOptions& opt, Position position,
                    uint32_t version, Timestamp recorded, schema::StoredEvent::Builder se);

// Encodes `e`'s envelope with placeholders into e.pre_stored and records
// e.prev_hash_offset. `seal` moves the personal fields out of the envelope's
// data (write::Sealer) before it is canonicalized.
Status PreEncode(codec::ParsedEvent& e, const AppendOptions& opt,
                 const std::function<Status(schema::StoredEvent::Builder)>& seal);

// Writes the writer's values over the placeholders of a PreEncode'd event.
void Patch(std::string* bytes, size_t prev_hash_offset, Position position, uint32_t version,
           Timestamp recorded, const crypto::Hash& prev_hash);

}  // namespace relais::write
