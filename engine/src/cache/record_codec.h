// The compact encoding of a stream's records (EventRecord), for the record
// snapshot (cache/record_snapshot.h).
//
// Replay's cost is decoding: a stored event is a canonical Cap'n Proto message
// of ~180 bytes whose reading checks every pointer, and a record has ~40
// fields of which an event uses a handful. This encoding keeps only what the
// views fold, as varints behind a presence mask, with each stream's
// identifiers written once and referred to after: ~43 bytes per event, decoded
// at a few hundred nanoseconds. The 16-byte event id is most of the ~43 bytes an event takes.
//
//   blob    := magic(u8 = 0x52 'R') varint(count) record*
//   record  := varint(position - previous position)   (the first: position)
//              varint(zigzag(version - previous version - 1))
//              id(16) u8(type) varint(zigzag(effective days))
//              varint(zigzag(recordedAt micros - previous recordedAt))
//              varint(mask) field*          (the fields of `mask`, in bit order)
//   text    := varint(0) varint(length) bytes | varint(k + 1)   (the stream's k-th text)
//
// Decoding is hostile-safe: any blob yields records or Status::Corruption,
// never a read out of bounds, and enum values outside the schema are refused.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "relais/event.h"
#include "relais/status.h"

namespace relais::cache {

// Bounds of what a blob may claim (a damaged length must not allocate).
inline constexpr size_t kBlobRecordsMax = 1 << 20;
inline constexpr size_t kBlobTextBytesMax = 4096;

// Appends the encoding of `records` (one stream's, in position order) to `out`.
void EncodeRecords(const std::vector<EventRecord>& records, std::string* out);

// Decodes a blob into `out` (cleared first). Texts are interned (Intern):
// records outlive the blob.
Status DecodeRecords(std::string_view blob, std::vector<EventRecord>* out);

// Field-by-field equality of two records (the snapshot's check against the
// log in `verify`). On a difference, `*what` names the first differing field.
bool SameRecord(const EventRecord& a, const EventRecord& b, std::string* what);

}  // namespace relais::cache
