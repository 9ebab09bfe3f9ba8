#include "tree/merkle.h"

#include <bit>

namespace relais::tree {

namespace {

// The largest power of two smaller than n (n >= 2): the RFC's split point k.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }


}  // namespace

Hash LeafHash(std::string_view data) {
  std::string buf;
  buf.reserve(1 + data.size());
  buf.push_back('\0');
  buf.append(data);
  return crypto::Sha256(buf);
}

Hash NodeHash(const Hash& left, const Hash& right) {
  char buf[65];
  buf[0] = 1;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  return crypto::Sha256(std::string_view(buf, sizeof buf));
}

Hash EmptyRoot() { return crypto::Sha256(""); }

Result<Hash> RangeHash(uint64_t begin, uint64_t end, const NodeSource& node) {
  uint64_t n = end - begin;
  if (n == 0) return Status::Internal("the hash of an empty range was asked");
  if (std::has_single_bit(n) && begin % n == 0)
    return node(std::countr_zero(n), begin >> std::countr_zero(n));
  uint64_t k = SplitPoint(n);
  ASSIGN_OR_RETURN(Hash left, RangeHash(begin, begin + k, node));
  ASSIGN_OR_RETURN(Hash right, RangeHash(begin + k, end, node));
  return NodeHash(left, right);
}

Result<Hash> Root(uint64_t size, const NodeSource& node) {
  if (size == 0) return EmptyRoot();
  return RangeHash(0, size, node);
}

namespace {

// PATH(m, D[begin:begin+n]) appended to *out, deepest first.
Status PathOf(uint64_t m, uint64_t begin, uint64_t n, const NodeSource& node,
              std::vector<Hash>* out) {
  if (n <= 1) return Status::Ok();
  uint64_t k = SplitPoint(n);
  if (m < k) {
    RETURN_IF_ERROR(PathOf(m, begin, k, node, out));
    ASSIGN_OR_RETURN(Hash h, RangeHash(begin + k, begin + n, node));
    out->push_back(h);
  } else {
    RETURN_IF_ERROR(PathOf(m - k, begin + k, n - k, node, out));
    ASSIGN_OR_RETURN(Hash h, RangeHash(begin, begin + k, node));
    out->push_back(h);
  }
  return Status::Ok();
}

// SUBPROOF(m, D[begin:begin+n], b).
Status SubProof(uint64_t m, uint64_t begin, uint64_t n, bool b, const NodeSource& node,
                std::vector<Hash>* out) {
  if (m == n) {
    if (!b) {
      ASSIGN_OR_RETURN(Hash h, RangeHash(begin, begin + n, node));
      out->push_back(h);
    }
    return Status::Ok();
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    RETURN_IF_ERROR(SubProof(m, begin, k, b, node, out));
    ASSIGN_OR_RETURN(Hash h, RangeHash(begin + k, begin + n, node));
    out->push_back(h);
  } else {
    RETURN_IF_ERROR(SubProof(m - k, begin + k, n - k, false, node, out));
    ASSIGN_OR_RETURN(Hash h, RangeHash(begin, begin + k, node));
    out->push_back(h);
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<Hash>> InclusionPath(uint64_t index, uint64_t size, const NodeSource& node) {
  if (index >= size) return Status::InvalidArgument("the leaf is not in the tree");
  std::vector<Hash> out;
  RETURN_IF_ERROR(PathOf(index, 0, size, node, &out));
  return out;
}

Result<std::vector<Hash>> ConsistencyPath(uint64_t m, uint64_t n, const NodeSource& node) {
  if (m == 0 || m > n) return Status::InvalidArgument("a consistency proof needs 0 < m <= n");
  std::vector<Hash> out;
  if (m == n) return out;
  RETURN_IF_ERROR(SubProof(m, 0, n, true, node, &out));
  return out;
}

bool VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                     const std::vector<Hash>& path, const Hash& root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t m, uint64_t n, const Hash& root_m, const Hash& root_n,
                       const std::vector<Hash>& path) {
  if (m == 0 || m > n) return false;
  if (m == n) return path.empty() && root_m == root_n;
  if (path.empty()) return false;
  std::vector<Hash> p;
  if (std::has_single_bit(m)) p.push_back(root_m);
  p.insert(p.end(), path.begin(), path.end());
  uint64_t fn = m - 1, sn = n - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = p[0], sr = p[0];
  for (size_t i = 1; i < p.size(); ++i) {
    const Hash& c = p[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == root_m && sr == root_n && sn == 0;
}

void CompactRange::Push(const Hash& leaf_hash) {
  Hash h = leaf_hash;
  // Each trailing one bit of the old size is a peak of the same height as
  // the new one: merge them.
  for (uint64_t s = size_; s & 1; s >>= 1) {
    h = NodeHash(peaks_.back(), h);
    peaks_.pop_back();
  }
  peaks_.push_back(h);
  ++size_;
}

Hash CompactRange::Root() const {
  if (peaks_.empty()) return EmptyRoot();
  Hash r = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) r = NodeHash(peaks_[i], r);
  return r;
}

NodeSource NodesOf(const std::vector<Hash>& leaves) {
  return [&leaves](int level, uint64_t index) -> Result<Hash> {
    uint64_t begin = index << level, n = uint64_t{1} << level;
    if (begin + n > leaves.size()) return Status::Internal("node outside the tree");
    if (level == 0) return leaves[begin];
    ASSIGN_OR_RETURN(Hash l, NodesOf(leaves)(level - 1, index * 2));
    ASSIGN_OR_RETURN(Hash r, NodesOf(leaves)(level - 1, index * 2 + 1));
    return NodeHash(l, r);
  };
}

}  // namespace relais::tree
