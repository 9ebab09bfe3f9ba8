// From stored values to what readers see: a stream's records (corrections
// folded into their targets) and the API's StoredEventView.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cache/erased_set.h"
#include "codec/codec.h"
#include "log/store.h"
#include "relais/engine.h"
#include "write/sealer.h"

namespace relais::read {

// The record of one stored event, its correction (if it is one) not folded.
EventRecord RecordOf(schema::StoredEvent::Reader se, const Subject& subject);

// Folds one correction into the target's current framed data and date.
void ApplyCorrection(schema::EventData::Reader correction, std::string* target_data,
                     Date* target_effective);

// Decodes a stream's stored values (position order) into records, folding
// each correction into its target's data as it comes.
Status RecordsFromValues(const Subject& subject, const std::vector<std::string>& values,
                         std::vector<EventRecord>* out);

using log::CacheUse;

// The stored values of a stream's events, in position order (the stream
// index names the positions, one multi-get reads them), at `at` if given.
Result<std::vector<std::string>> StreamValues(log::Store& store, const Subject& subject,
                                              const log::Store::Snapshot* at = nullptr,
                                              CacheUse cache = CacheUse::kBypass);
// The same decoded into records (RecordsFromValues).
Status LoadRecords(log::Store& store, const Subject& subject, std::vector<EventRecord>* out,
                   const log::Store::Snapshot* at = nullptr,
                   CacheUse cache = CacheUse::kBypass);

// A stored value as the API shows it: personal fields opened with `sealer`,
// or omitted when they cannot be. `erased`: the event's household is erased;
// its personal fields are omitted whether or not its key is destroyed yet,
// and an event that had some says so (personal_data_erased).
Result<StoredEventView> View(std::string_view value, write::Sealer& sealer,
                             const cache::ErasedSet* erased = nullptr);

}  // namespace relais::read
