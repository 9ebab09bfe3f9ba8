#include "cache/record_snapshot.h"

#include "cache/record_codec.h"
#include "log/log_format.h"

namespace relais::cache {

Result<std::optional<Position>> ReadSnapshotPoint(log::Store& store, const log::Store::Snapshot* at) {
  if (!store.Has(log::Store::kRecords)) return std::optional<Position>();
  std::string value;
  bool found = false;
  RETURN_IF_ERROR(store.Get(log::Store::kMeta, kSnapshotPointKey, &value, &found, at));
  const std::string_view format = kSnapshotFormat;
  // Another format (an older or newer relais) is not read: the snapshot is
  // rebuilt from the log, which is always the source.
  if (!found || value.size() != format.size() + 8 || value.compare(0, format.size(), format) != 0)
    return std::optional<Position>();
  return std::optional<Position>(log::GetBE64(std::string_view(value).substr(format.size())));
}

Status ScanSnapshot(log::Store& store, std::string_view prefix, const log::Store::Snapshot* at,
                    const std::function<bool(std::string_view, Position, std::string_view)>& fn) {
  Status bad;
  RETURN_IF_ERROR(store.Scan(log::Store::kRecords, prefix, {}, [&](std::string_view k, std::string_view v) {
    if (v.size() < 9) {
      bad = Status::Corruption("the record snapshot of " + std::string(k) + " is too short");
      return false;
    }
    return fn(k, log::GetBE64(v), v.substr(8));
  }, at));
  return bad;
}

Status SnapshotWriter::Put(std::string_view subject, const std::vector<EventRecord>& records) {
  value_.clear();
  log::PutBE64(&value_, through_);
  EncodeRecords(records, &value_);
  batch_.Put(store_->handle(log::Store::kRecords), rocksdb::Slice(subject.data(), subject.size()),
             value_);
  batch_bytes_ += subject.size() + value_.size();
  bytes_ += value_.size();
  ++streams_;
  if (batch_bytes_ >= kSnapshotBatchBytes) return FlushBatch();
  return Status::Ok();
}

Status SnapshotWriter::FlushBatch() {
  if (batch_.Count() == 0) return Status::Ok();
  Status st = store_->Write(&batch_, false);
  batch_.Clear();
  batch_bytes_ = 0;
  return st;
}

Status SnapshotWriter::Finish() {
  RETURN_IF_ERROR(FlushBatch());
  std::string point = kSnapshotFormat;
  log::PutBE64(&point, through_);
  batch_.Put(store_->handle(log::Store::kMeta), kSnapshotPointKey, point);
  // Synced: the point must not be lost while the engine believes it written
  // (a later open would only be slower, but the figures would lie).
  Status st = store_->Write(&batch_, true);
  batch_.Clear();
  return st;
}

Status DropSnapshotPoint(log::Store& store) {
  rocksdb::WriteBatch b;
  b.Delete(store.handle(log::Store::kMeta), kSnapshotPointKey);
  return store.Write(&b, true);
}

}  // namespace relais::cache
