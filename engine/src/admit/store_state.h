// The committed state admission reads, over the log store, the stream cache,
// the reference index and the sealer (to compare a re-sent event with its
// stored one, personal data included).
#pragma once

#include "admit/working_view.h"
#include "cache/reference_index.h"
#include "cache/stream_cache.h"
#include "log/store.h"
#include "write/sealer.h"

namespace relais::admit {

class StoreState : public CommittedState {
 public:
  StoreState(log::Store* store, cache::StreamCache* streams, cache::ReferenceIndex* refs,
             write::Sealer* sealer)
      : store_(store), streams_(streams), refs_(refs), sealer_(sealer) {}

  Result<std::shared_ptr<cache::StreamEntry>> Stream(const Subject& subject) override {
    return streams_->LoadedEntry(subject);
  }
  Result<std::optional<GroupEvent>> FindId(const Uuid& id) override;
  Result<bool> HasVersion(const std::string& subject, StreamVersion v) override;
  Result<std::string> DataAt(Position p) override;
  Result<std::set<std::string>> Referencing(const std::string& dwelling) override {
    return refs_->Households(dwelling);
  }
  Result<bool> HasReference(const std::string& dwelling, const std::string& household) override {
    return refs_->Has(dwelling, household);
  }
  rocksdb::ColumnFamilyHandle* Family(log::Store::Family f) override { return store_->handle(f); }

 private:
  log::Store* store_;
  cache::StreamCache* streams_;
  cache::ReferenceIndex* refs_;
  write::Sealer* sealer_;
};

}  // namespace relais::admit
