// `verify`'s check of the record snapshot (cache/record_snapshot.h): a cache
// must say exactly what the log says, or it is not used.
#pragma once

#include <optional>
#include <string>

#include "log/store.h"
#include "relais/types.h"

namespace relais::verify {

struct SnapshotProblem {
  Position position = 0;
  std::string what;
};

// Every value decodes and equals, record for record and field for field, the
// records decoded from the log up to what it covers; every stream with an
// event at or before the point has a value. Reads at `at`. Nothing when the
// directory has no snapshot point.
std::optional<SnapshotProblem> CheckRecordSnapshot(log::Store& store, const log::Store::Snapshot* at,
                                                   Position head);

}  // namespace relais::verify
