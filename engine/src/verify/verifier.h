// `verify`: the whole log checked on one snapshot: the chain of hashes,
// positions, versions and recordedAt, the three indexes from both sides, the
// households' keys, and every block's checksum.
#pragma once

#include <functional>

#include "crypto/keystore.h"
#include "log/store.h"
#include "relais/engine.h"

namespace relais::verify {

// `progress(position, head)` every 50,000 events.
// `on_hash` (may be empty) sees each good event's position and hash, in
// order: the Merkle tree's recomputation rides on the same scan.
VerifyReport Verify(log::Store* store, crypto::KeyStore* keys,
                    const std::function<void(Position, Position)>& progress,
                    const std::function<void(Position, const crypto::Hash&)>& on_hash = {});

}  // namespace relais::verify
