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
// `at`: the snapshot to check (the caller reads more at it, such as the
// tree's size); null: one of its own.
VerifyReport Verify(log::Store* store, crypto::KeyStore* keys,
                    const std::function<void(Position, Position)>& progress,
                    const std::function<void(Position, const crypto::Hash&)>& on_hash = {},
                    const log::Store::Snapshot* at = nullptr);

}  // namespace relais::verify
