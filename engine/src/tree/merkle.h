// The Merkle tree of RFC 9162 §2.1 over the log (docs/evidence.md): hashes,
// roots, inclusion and consistency proofs, and their verification.
//
// The tree of size n has leaves 0..n-1; leaf i is the 32-byte chain hash of
// the event at position i + 1. Everything here is pure: the hash of a complete
// subtree comes from a NodeSource (the stored tiles, tile_store.h, or a vector
// in tests), so proofs are computed from what is stored, never by a rebuild.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/crypto.h"
#include "relais/status.h"

namespace relais::tree {

using crypto::Hash;

// SHA-256(0x00 || data): the RFC's leaf hash.
Hash LeafHash(std::string_view data);
inline Hash LeafHash(const Hash& event_hash) {
  return LeafHash(std::string_view(reinterpret_cast<const char*>(event_hash.data()), event_hash.size()));
}
// SHA-256(0x01 || left || right).
Hash NodeHash(const Hash& left, const Hash& right);
// SHA-256(""): the root of the empty tree.
Hash EmptyRoot();

// The hash of the complete subtree of 2^level leaves starting at leaf
// index << level. Asked only for subtrees inside the tree being proved.
using NodeSource = std::function<Result<Hash>(int level, uint64_t index)>;

// MTH(D[begin:end]) for a range the RFC's recursion produces (begin a
// multiple of the largest power of two <= end - begin); end > begin.
Result<Hash> RangeHash(uint64_t begin, uint64_t end, const NodeSource& node);
// MTH(D[0:size]); the empty tree's hash for size 0.
Result<Hash> Root(uint64_t size, const NodeSource& node);
// PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf to root. index < size.
Result<std::vector<Hash>> InclusionPath(uint64_t index, uint64_t size, const NodeSource& node);
// PROOF(m, D[0:n]) of RFC 9162 §2.1.4.1. 0 < m <= n (m = n: empty).
Result<std::vector<Hash>> ConsistencyPath(uint64_t m, uint64_t n, const NodeSource& node);

// RFC 9162 §2.1.3.2 and §2.1.4.2.
bool VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                     const std::vector<Hash>& path, const Hash& root);
bool VerifyConsistency(uint64_t m, uint64_t n, const Hash& root_m, const Hash& root_n,
                       const std::vector<Hash>& path);

// A root kept while leaves arrive (verify's recomputation from the log):
// the roots of the perfect subtrees that make up the leaves so far, at most 64.
class CompactRange {
 public:
  void Push(const Hash& leaf_hash);
  uint64_t size() const { return size_; }
  Hash Root() const;

 private:
  uint64_t size_ = 0;
  std::vector<Hash> peaks_;  // left to right, largest first
};

// A vector of leaf hashes as a NodeSource (tests, small trees).
NodeSource NodesOf(const std::vector<Hash>& leaves);

}  // namespace relais::tree
