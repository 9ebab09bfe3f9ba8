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
VerifyReport Verify(log::Store* store, crypto::KeyStore* keys,
                    const std::function<void(Position, Position)>& progress);

}  // namespace relais::verify
