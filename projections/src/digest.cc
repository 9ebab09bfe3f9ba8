// The replay digest (digest.h): SHA-256 over the framed status of every
// stream and the report, all known at one position.
#include "relais/projections/digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <string_view>
#include <vector>

#include "relais/hex.h"
#include "relais/projections/report.h"
#include "relais/projections/views.h"

namespace relais::projections {

namespace {

// The version of the framing: a change of what is hashed, or how, bumps it,
// so that digests of two versions never compare equal by accident.
constexpr std::string_view kMagic = "relais replay digest v1\n";

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    ok_ = ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1;
  }
  void Update(std::string_view bytes) {
    ok_ = ok_ && EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) == 1;
  }
  // One part: "<kind> <name> <length>\n<bytes>\n".
  void Part(std::string_view kind, std::string_view name, std::string_view bytes) {
    std::string head;
    head.append(kind).append(" ").append(name).append(" ");
    head.append(std::to_string(bytes.size())).append("\n");
    Update(head);
    Update(bytes);
    Update("\n");
  }
  Result<std::string> HexDigest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1 || len != 32)
      return Status::Internal("SHA-256 failed");
    return ToHex(md, len);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
  bool ok_ = false;
};

// recordedAt of the event at position p.
Result<Timestamp> RecordedAt(Engine& engine, Position p) {
  std::optional<Timestamp> t;
  RETURN_IF_ERROR(engine.Scan(p, [&](const StoredEventView& v) {
    if (v.record.position == p) t = v.record.recorded;
    return false;
  }));
  if (!t) return Status::Corruption("the log has no event at position " + std::to_string(p));
  return *t;
}

}  // namespace

Result<std::string> ReplayDigest(Engine& engine) {
  return ReplayDigestAt(engine, engine.GetHead().position);
}

Result<std::string> ReplayDigestAt(Engine& engine, Position p) {
  Sha256 sha;
  sha.Update(kMagic);
  if (p == 0) {
    sha.Part("empty", "-", "");
    return sha.HexDigest();
  }
  if (p > engine.GetHead().position)
    return Status::InvalidArgument("position " + std::to_string(p) + " is past the head");
  ASSIGN_OR_RETURN(Timestamp known_at, RecordedAt(engine, p));
  const Date as_of = UtcDate(known_at);
  sha.Part("position", std::to_string(p), "");

  // One scan loads every stream (what the report does anyway), rather than
  // one read per stream below.
  RETURN_IF_ERROR(engine.WarmAll({}));
  ASSIGN_OR_RETURN(std::vector<Subject> streams, engine.ListStreams());
  std::sort(streams.begin(), streams.end(),
            [](const Subject& a, const Subject& b) { return a.text < b.text; });
  for (const Subject& s : streams) {
    Result<std::string> status = StatusJsonAt(engine, s, p, as_of, false);
    // A stream whose first event came after p is not part of this log.
    if (!status.ok() && status.status().code() == StatusCode::kNotFound) continue;
    RETURN_IF_ERROR(status.status());
    sha.Part("status", s.text, *status);
  }

  ReportRequest request;
  request.time.as_of = as_of;
  request.time.known_at = known_at;
  request.today = as_of;
  ASSIGN_OR_RETURN(Report report, ComputeReportAt(engine, request, p));
  if (report.log_position != p)
    return Status::Internal("the report was folded at position " +
                            std::to_string(report.log_position) + ", not " + std::to_string(p));
  // The chain hash is left out: it covers the sealed personal data, and a
  // replay into another directory seals with other household keys, so the
  // same events have other hashes there. `verify`'s "head" covers the bytes;
  // the digest covers what the projections say.
  report.log_hash.clear();
  sha.Part("report", "indicators", RenderReport(report, ReportFormat::kJson));
  return sha.HexDigest();
}

}  // namespace relais::projections
