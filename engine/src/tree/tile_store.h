// The Merkle tree's stored form (docs/on-disk-format.md, "tree"): the
// tlog-tiles layout. A tile is 256 consecutive hashes of one tile level:
// level L holds the hashes of the complete subtrees of 256^L leaves, so
// level 0 holds the leaf hashes, level 1 the roots of 256-leaf subtrees...
//
//   tree family:  level (1 byte) || BE64(tile index) -> the tile's hashes (32 bytes each)
//                 "size" -> BE64(the tree's size)
//
// A level-0 tile is written once, full, in the write batch of the event that
// fills it; the partial level-0 tile at the right edge is recomputed from
// the log (at most 255 hashes). A tile of level >= 1 is rewritten each time
// it gains a hash (once every 256^L events), so it is always there. Every
// write goes in the same RocksDB WriteBatch as the events it covers, with
// "size": the stored tree never covers an event the log lacks, and is
// never behind it.
#pragma once

#include <rocksdb/write_batch.h>

#include <functional>
#include <map>
#include <vector>

#include "log/store.h"
#include "tree/merkle.h"

namespace relais::tree {

inline constexpr int kTileHeight = 8;
inline constexpr size_t kTileWidth = 256;
inline constexpr int kTileLevelsMax = 8;  // 256^8 = 2^64 leaves
inline constexpr char kSizeKey[] = "size";

std::string TileKey(int level, uint64_t index);
// The root of a full tile's 256 hashes (a perfect subtree of 8 levels).
Hash TileRoot(const std::vector<Hash>& hashes);

// The stored tree's size; 0 when there is none (no family or no "size").
// At `at` when given (verify's snapshot).
Result<uint64_t> StoredSize(log::Store* store, const log::Store::Snapshot* at = nullptr);

// Hashes of the tree of size `size` from the stored tiles and the log. One
// reader per question: it keeps the tiles it read.
class TileReader {
 public:
  TileReader(log::Store* store, uint64_t size) : store_(store), size_(size) {}
  Result<Hash> Node(int level, uint64_t index);
  NodeSource Source() {
    return [this](int level, uint64_t index) { return Node(level, index); };
  }

 private:
  // The hashes of tile (level, index) as stored (level 0: from the log
  // when the tile is not full in the tree of size_), at least `need` of them.
  Result<const std::vector<Hash>*> Tile(int level, uint64_t index, size_t need);
  log::Store* store_;
  uint64_t size_;
  std::map<std::pair<int, uint64_t>, std::vector<Hash>> tiles_;
};

// The right edge of the tree as the writer extends it: per tile level, the
// hashes of its last, not yet full tile.
class TreeWriter {
 public:
  // The edge of the stored tree of size `size` (the log's size).
  Status Load(log::Store* store, uint64_t size);
  // Adds the leaf of an event (its chain hash) and puts into `batch` the
  // tiles it completes or extends.
  void Append(const Hash& event_hash, rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* cf);
  // Puts the tree's size (once per batch, after its appends).
  void PutSize(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* cf) const;
  uint64_t size() const { return size_; }

 private:
  uint64_t size_ = 0;
  std::vector<std::vector<Hash>> edge_;
};

// Builds the tree of a log written before it existed, from `from` (the
// stored tree's size) to the log's `size`, in batches; `progress` gets the
// size reached now and then.
Status BuildTree(log::Store* store, uint64_t from, uint64_t size,
                 const std::function<void(uint64_t, uint64_t)>& progress);

}  // namespace relais::tree
