// The on-disk layout of a data directory (specified in docs/on-disk-format.md).
//
//   DIR/log/    RocksDB: the event log and its indexes (column families below)
//   DIR/keys/   RocksDB: the per-household data keys (erasable apart from the log)
//
// Column families of DIR/log:
//   "default"  meta:   "format" -> "relais-log-2" (or "relais-log-1": no "records" family yet)
//   "log"      BE64(position) -> hash(32) || canonical capnp StoredEvent
//   "stream"   subject || 0x00 || BE64(version) -> BE64(position)
//   "id"       uuid(16) -> BE64(position)
//   "ref"      dwellingId || 0x00 || household bare id -> ""  (who references a dwelling)
//   "records"  subject -> BE64(covered through) || compact records (cache/record_snapshot.h);
//              its point is the meta key "records" -> "relais-records-1" || BE64(position)
//   "tree"     level(1) || BE64(tile index) -> up to 256 hashes; "size" -> BE64(tree size)
//
// Big-endian integers make RocksDB's bytewise order the numeric order, so a
// scan of "log" is position order and a prefix scan of "stream" is version order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace relais::log {

inline constexpr char kFormatKey[] = "format";
// relais-log-2 is relais-log-1 plus the "records" family: a writable open of a
// relais-log-1 directory adds the family and marks it relais-log-2, so that an
// older relais refuses it by its marker rather than by a missing family.
inline constexpr char kFormatValue[] = "relais-log-2";
inline constexpr char kFormatValueV1[] = "relais-log-1";
inline constexpr char kLogFamily[] = "log";
inline constexpr char kStreamFamily[] = "stream";
inline constexpr char kIdFamily[] = "id";
inline constexpr char kRefFamily[] = "ref";
inline constexpr char kRecordsFamily[] = "records";
// The Merkle tree's tiles (tree/tile_store.h). Not in the format marker: a
// log without it is read as before and gets it at its next writable open.
inline constexpr char kTreeFamily[] = "tree";
inline constexpr size_t kHashBytes = 32;

inline void PutBE64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}
inline uint64_t GetBE64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(in[i]);
  return v;
}
inline std::string PositionKey(uint64_t position) {
  std::string k;
  PutBE64(&k, position);
  return k;
}
inline std::string StreamPrefix(std::string_view subject) {
  std::string k(subject);
  k.push_back('\0');
  return k;
}
inline std::string StreamKey(std::string_view subject, uint64_t version) {
  std::string k = StreamPrefix(subject);
  PutBE64(&k, version);
  return k;
}
// The erasure index, in the meta family: one key per erased household
// ("erasure/" || subject), its value the PersonalDataErased's position (BE64),
// written in the batch of the event itself. It is how an open finds the keys
// a crash left undestroyed, and how readers know a stream is erased, without
// reading the log.
inline constexpr char kErasurePrefix[] = "erasure/";
inline std::string ErasureKey(std::string_view subject) {
  std::string k(kErasurePrefix);
  k.append(subject);
  return k;
}
inline std::string RefKey(std::string_view dwelling_id, std::string_view household_id) {
  std::string k(dwelling_id);
  k.push_back('\0');
  k.append(household_id);
  return k;
}

}  // namespace relais::log
