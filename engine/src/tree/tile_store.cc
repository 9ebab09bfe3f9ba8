#include "tree/tile_store.h"

#include <cstring>

#include "log/log_format.h"

namespace relais::tree {

namespace {

std::string Concat(const std::vector<Hash>& hashes) {
  std::string out;
  out.reserve(hashes.size() * 32);
  for (const Hash& h : hashes) out.append(reinterpret_cast<const char*>(h.data()), h.size());
  return out;
}

bool Split(std::string_view bytes, std::vector<Hash>* out) {
  if (bytes.size() % 32 != 0 || bytes.size() > kTileWidth * 32) return false;
  out->resize(bytes.size() / 32);
  for (size_t i = 0; i < out->size(); ++i) std::memcpy((*out)[i].data(), bytes.data() + 32 * i, 32);
  return true;
}

// Leaf hashes of positions [first, last] read from the log.
Status LeavesFromLog(log::Store* store, uint64_t first, uint64_t last, std::vector<Hash>* out) {
  out->clear();
  if (first > last) return Status::Ok();
  std::vector<std::string> keys, values;
  std::vector<bool> found;
  for (uint64_t p = first; p <= last; ++p) keys.push_back(log::PositionKey(p));
  RETURN_IF_ERROR(store->MultiGet(log::Store::kLog, keys, &values, &found));
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!found[i] || values[i].size() < log::kHashBytes)
      return Status::Corruption("the tree needs the event at position " + std::to_string(first + i) +
                                ", which the log lacks");
    Hash h;
    std::memcpy(h.data(), values[i].data(), 32);
    out->push_back(LeafHash(h));
  }
  return Status::Ok();
}

}  // namespace

std::string TileKey(int level, uint64_t index) {
  std::string k(1, static_cast<char>(level));
  log::PutBE64(&k, index);
  return k;
}

Hash TileRoot(const std::vector<Hash>& hashes) {
  std::vector<Hash> row = hashes;
  while (row.size() > 1) {
    for (size_t i = 0; i < row.size() / 2; ++i) row[i] = NodeHash(row[2 * i], row[2 * i + 1]);
    row.resize(row.size() / 2);
  }
  return row[0];
}

Result<uint64_t> StoredSize(log::Store* store, const log::Store::Snapshot* at) {
  if (!store->Has(log::Store::kTree)) return uint64_t{0};
  std::string v;
  bool found = false;
  RETURN_IF_ERROR(store->Get(log::Store::kTree, kSizeKey, &v, &found, at));
  if (!found) return uint64_t{0};
  if (v.size() != 8) return Status::Corruption("the tree's size is not 8 bytes");
  return log::GetBE64(v);
}

Result<const std::vector<Hash>*> TileReader::Tile(int level, uint64_t index, size_t need) {
  auto key = std::make_pair(level, index);
  if (auto it = tiles_.find(key); it != tiles_.end() && it->second.size() >= need) return &it->second;
  std::vector<Hash>& hashes = tiles_[key];
  std::string v;
  bool found = false;
  RETURN_IF_ERROR(store_->Get(log::Store::kTree, TileKey(level, index), &v, &found));
  if (found) {
    if (!Split(v, &hashes))
      return Status::Corruption("tree tile " + std::to_string(level) + "/" + std::to_string(index) +
                                " is not a whole number of hashes");
  } else if (level == 0) {
    // The right edge's partial tile: its leaves are the log's last events.
    uint64_t first = index * kTileWidth + 1;
    RETURN_IF_ERROR(LeavesFromLog(store_, first, first + need - 1, &hashes));
  } else {
    hashes.clear();
  }
  if (hashes.size() < need)
    return Status::Corruption("tree tile " + std::to_string(level) + "/" + std::to_string(index) +
                              " holds " + std::to_string(hashes.size()) + " hashes, the tree of size " +
                              std::to_string(size_) + " needs " + std::to_string(need));
  return &hashes;
}

Result<Hash> TileReader::Node(int level, uint64_t index) {
  if (level < 0 || level >= 64 || (index + 1) > (size_ >> level))
    return Status::Internal("tree node " + std::to_string(level) + "/" + std::to_string(index) +
                            " is outside the tree of size " + std::to_string(size_));
  int tile_level = level / kTileHeight, r = level % kTileHeight;
  uint64_t first = index << r;  // its first hash at the tile level
  uint64_t count = uint64_t{1} << r;
  ASSIGN_OR_RETURN(const std::vector<Hash>* tile,
                   Tile(tile_level, first / kTileWidth, first % kTileWidth + count));
  std::vector<Hash> row(tile->begin() + first % kTileWidth, tile->begin() + first % kTileWidth + count);
  return TileRoot(row);
}

Status TreeWriter::Load(log::Store* store, uint64_t size) {
  size_ = size;
  edge_.assign(1, {});
  uint64_t full = size / kTileWidth * kTileWidth;
  RETURN_IF_ERROR(LeavesFromLog(store, full + 1, size, &edge_[0]));
  for (int level = 1; level < kTileLevelsMax; ++level) {
    uint64_t count = size >> (kTileHeight * level);
    if (count == 0) break;
    edge_.emplace_back();
    size_t width = count % kTileWidth;
    if (width == 0) continue;
    std::string v;
    bool found = false;
    RETURN_IF_ERROR(store->Get(log::Store::kTree, TileKey(level, count / kTileWidth), &v, &found));
    if (!found || !Split(v, &edge_[level]) || edge_[level].size() != width)
      return Status::Corruption("tree tile " + std::to_string(level) + "/" +
                                std::to_string(count / kTileWidth) + " does not hold the " +
                                std::to_string(width) + " hashes of the tree of size " +
                                std::to_string(size));
  }
  return Status::Ok();
}

void TreeWriter::Append(const Hash& event_hash, rocksdb::WriteBatch* batch,
                        rocksdb::ColumnFamilyHandle* cf) {
  edge_[0].push_back(LeafHash(event_hash));
  ++size_;
  for (size_t level = 0;; ++level) {
    std::vector<Hash>& e = edge_[level];
    uint64_t count = size_ >> (kTileHeight * level);  // hashes at this level now
    if (level > 0 || e.size() == kTileWidth)
      batch->Put(cf, TileKey(static_cast<int>(level), (count - 1) / kTileWidth), Concat(e));
    if (e.size() < kTileWidth) break;
    Hash root = TileRoot(e);
    e.clear();
    if (edge_.size() <= level + 1) edge_.emplace_back();
    edge_[level + 1].push_back(root);
  }
}

void TreeWriter::PutSize(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* cf) const {
  batch->Put(cf, kSizeKey, log::PositionKey(size_));
}

Status BuildTree(log::Store* store, uint64_t from, uint64_t size,
                 const std::function<void(uint64_t, uint64_t)>& progress) {
  TreeWriter w;
  RETURN_IF_ERROR(w.Load(store, from));
  rocksdb::ColumnFamilyHandle* cf = store->handle(log::Store::kTree);
  rocksdb::WriteBatch batch;
  Status inner;
  constexpr uint64_t kBatchLeaves = 1 << 16;
  RETURN_IF_ERROR(store->Scan(log::Store::kLog, {}, log::PositionKey(from + 1),
                              [&](std::string_view key, std::string_view value) {
    if (log::GetBE64(key) > size) return false;
    if (value.size() < 32 || log::GetBE64(key) != w.size() + 1) {
      inner = Status::Corruption("the log has a gap or a short value at position " +
                                 std::to_string(log::GetBE64(key)));
      return false;
    }
    Hash h;
    std::memcpy(h.data(), value.data(), 32);
    w.Append(h, &batch, cf);
    if (w.size() % kBatchLeaves == 0) {
      w.PutSize(&batch, cf);
      inner = store->Write(&batch, false);
      batch.Clear();
      if (!inner.ok()) return false;
      if (progress) progress(w.size(), size);
    }
    return true;
  }));
  RETURN_IF_ERROR(inner);
  if (w.size() != size)
    return Status::Corruption("the tree was built to size " + std::to_string(w.size()) +
                              ", the log holds " + std::to_string(size));
  w.PutSize(&batch, cf);
  return store->Write(&batch, true);
}

}  // namespace relais::tree
