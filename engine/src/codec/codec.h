// The codec: JSON <-> Cap'n Proto <-> domain Fact, driven by schema/relais.capnp.
//
// There is no converter per event type for JSON: JsonToStruct and StructToJson
// walk the schema by reflection and read the validation annotations declared in
// relais.capnp. ToFact is the one place that maps stored data to domain values.
//
// Thread-safety: every function is reentrant; the schema metadata is built once
// (thread-safe static initialisation) and read-only afterwards.
#pragma once

#include <capnp/dynamic.h>
#include <capnp/message.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais.capnp.h"
#include "relais/event.h"
#include "relais/json_writer.h"
#include "relais/types.h"

namespace simdjson::dom {
class element;
}

namespace relais::codec {

// The canonical Cap'n Proto bytes of a message's root.
std::string CanonicalBytes(capnp::AnyStruct::Reader root);
template <typename Reader>
std::string Canonical(Reader r) {
  return CanonicalBytes(capnp::toAny(r));
}

struct ActorValue {
  std::string id;
  schema::Role role = schema::Role::ADMIN;
  std::string org;
};

// One event of a request, validated against the schema (not yet judged by the
// rules). `data` holds the full EventData, personal fields included.
struct ParsedEvent {
  Uuid id;
  std::string id_text;
  EventType type = EventType::kHouseholdRegistered;
  Subject subject;
  Date effective;
  std::optional<StreamVersion> expected_version;
  std::optional<Timestamp> recorded_at;
  std::optional<ActorValue> actor;
  std::unique_ptr<capnp::MallocMessageBuilder> data;  // root: schema::EventData
  // EventCorrected only: the raw JSON of its `data` object, decoded against the
  // target's type once the target is known (DecodeCorrectionData).
  std::string correction_data_json;
  bool has_correction_data = false;
  Fact fact;

  // Prepared off the writer thread (engine.cc, Prepare) for all but
  // corrections: the framed canonical data (idempotency), and the stored
  // event encoded with placeholders for what only the writer knows (position,
  // version, recordedAt, prevHash), patched in place at fixed offsets.
  std::string full_data;
  std::string pre_stored;
  // Set by Engine::Erase: the writer gives the event the UTC date of the
  // recordedAt it stamps (lifecycle.md §1), so it is never pre-encoded.
  bool effective_from_recorded = false;
  size_t prev_hash_offset = 0;
};

struct ParseError {
  std::string message;
  std::optional<std::string> id;  // the failing event's id, when it could be read
};

// Parses one request: a JSON object (one event) or a JSON array (a batch).
// Returns nullopt on success; `is_batch` tells which form it was.
// PersonalDataErased is malformed (field `type`) unless `allow_erasure`: only
// Engine::Erase, which destroys the key with it, parses one.
std::optional<ParseError> ParseRequest(std::string_view text, std::vector<ParsedEvent>* out,
                                       bool* is_batch, bool allow_erasure = false);

// Decodes an EventCorrected's partial `data` against the target type and
// stores it (with the ordinals of the fields given) into the correction.
std::optional<std::string> DecodeCorrectionData(ParsedEvent& correction, EventType target_type);

// The data of `base` with the `fields` of `partial` (same event type) merged
// over it. Returns a message whose root is an EventData.
std::unique_ptr<capnp::MallocMessageBuilder> MergeData(schema::EventData::Reader base,
                                                       schema::EventData::Reader partial,
                                                       capnp::List<uint16_t>::Reader fields);

// Domain view of an event's data. `subject` supplies the stream's own id
// (a DwellingRegistered's dwelling_id).
Fact ToFact(schema::EventData::Reader data, const Subject& subject);
EventType TypeOf(schema::EventData::Reader data);

// Personal data (events.md §1). SplitPersonal moves every $personal field that
// is set in `data` into `personal` (an EventData of the same type) and leaves
// in `data` an empty value that keeps the field's presence. Returns whether any
// field moved. MergePersonal puts them back.
bool SplitPersonal(schema::EventData::Builder data, schema::EventData::Builder personal);
void MergePersonal(schema::EventData::Builder data, schema::EventData::Reader personal);

// Writes an event's `data` object (the union member's fields) as JSON.
// kOmit leaves out every $personal field: for an event whose sealed personal
// data cannot be opened, whose placeholders are not values.
enum class PersonalFields { kShow, kOmit };
void DataToJson(schema::EventData::Reader data, JsonWriter& w,
                PersonalFields personal = PersonalFields::kShow);

// "admin", "social_worker", ...
std::string_view RoleName(schema::Role r);
// The JSON name of an enumerant of any schema enum.
template <typename E>
std::string_view EnumName(E value);
std::string_view EnumNameOf(capnp::EnumSchema schema, uint16_t value);

template <typename E>
std::string_view EnumName(E value) {
  return EnumNameOf(capnp::Schema::from<E>(), static_cast<uint16_t>(value));
}

// Checks that canonical bytes hold a well-formed StoredEvent: every pointer in
// bounds (a full traversal), a known event type, a valid subject, a 16-byte id
// and a 32-byte prevHash. Cap'n Proto reports malformed input by throwing;
// this is where those exceptions stop (STYLE: exceptions only at the edges).
// After it returns nullopt, readers of the message do not throw.
std::optional<std::string> CheckStoredEvent(kj::ArrayPtr<const capnp::word> words);

// The visibility class of a union member (from $visibility).
schema::Visibility DeclaredVisibility(EventType t);

}  // namespace relais::codec
