#include "cli/sink_commands.h"

#include <signal.h>

#include <atomic>
#include <cstdio>

#include "cli/cli_common.h"
#include "relais/projections/cloudevents.h"
#include "relais/projections/visibility.h"
#include "server/state.h"
#include "sink/feed_source.h"
#include "sink/sink.h"

namespace relais::cli {

namespace {

std::atomic<bool> g_stop{false};

void OnStop(int) { g_stop.store(true); }

}  // namespace

int RunSink(const std::string& data_dir, const SinkArgs& args) {
  auto scope = sink::ScopeFromName(args.scope);
  if (!scope) return Usage("--scope: '" + args.scope + "' is not one of evaluator, admin");
  auto format = sink::EventsFormatFromName(args.events_format);
  if (!format)
    return Usage("--events-format: '" + args.events_format +
                 "' is not one of envelope, cloudevents");
  if (!sink::ValidSchemaName(args.schema))
    return Usage("--schema: '" + args.schema +
                 "' is not a schema name [a-z_][a-z0-9_]* of at most 63 bytes");
  if (args.dsn.empty()) return Usage("--dsn: a libpq connection string is required");
  if (args.batch < 1 || static_cast<size_t>(args.batch) > sink::kBatchEventsMax)
    return Usage("--batch: from 1 to " + std::to_string(sink::kBatchEventsMax) + " events");
  if (args.poll_ms < 10 || args.poll_ms > 3'600'000) return Usage("--poll-ms: from 10 to 3600000");
  const bool feed = !args.url.empty();
  if (!feed && (!args.token.empty() || !args.replica.empty()))
    return Usage("--token and --replica go with --url (a server followed through its feed)");
  if (feed) {
    if (args.data_given)
      return Usage("--url and --data: the sink follows a server's feed or a data directory, not "
                   "both");
    if (auto u = sink::ParseFeedUrl(args.url); !u.ok()) return Usage(u.status().message());
    if (args.token.empty()) return Usage("--url needs --token: an admin token's secret");
    if (args.replica.empty())
      return Usage("--url needs --replica DIR: the local copy of the server's log the sink "
                   "folds (kept between runs; one per server)");
    if (*scope != sink::Scope::kAdmin)
      return Usage(
          "--url follows a server with --scope admin and an admin token only: an evaluator token "
          "may not read the feed (403), and the evaluator's pseudonyms need the installation's "
          "key; run the evaluator sink on the data directory (--data DIR) or inside the server "
          "(serve --sink-dsn --sink-scope evaluator)");
    if (*format != sink::EventsFormat::kEnvelope)
      return Usage("--url: --events-format cloudevents needs the installation's name, which "
                   "only its data directory holds; use --data DIR or serve --sink-dsn");
    if (args.once)
      return Usage("--url: --once needs a data directory (a feed has no end to stop at)");
  } else if (!IsDataDirectory(data_dir)) {
    return NoDataDirectory(data_dir);
  }

  Result<std::unique_ptr<sink::LogSource>> source =
      feed ? sink::FeedSource({args.url, args.token, args.replica, 5000, {}})
           : sink::DirectorySource(data_dir, args.poll_ms);
  if (!source.ok()) return Fail(source.status());
  sink::SinkOptions o;
  o.dsn = args.dsn;
  o.scope = *scope;
  o.schema = args.schema;
  o.events_format = *format;
  o.batch_events = static_cast<size_t>(args.batch);
  o.once = args.once;
  // A one-off run gives up on a database it cannot reach (about 1.5 s of
  // retries); a following sink waits for it as long as it takes.
  o.failures_max = args.once ? 5 : 0;
  o.source_name = projections::InstallationSource((*source)->engine());
  if (*scope == sink::Scope::kEvaluator) {
    // The installation's pseudonyms, so the tables join with GET /v1/export.
    auto key = server::LoadPseudonymKey(data_dir);
    if (!key.ok()) return Fail(key.status());
    o.pseudonym_key = *key;
  }
  Progress progress("sink");
  bool caught_up_said = false;
  o.progress = [&](const sink::SinkProgress& p) {
    if (p.applied < p.head) {
      progress.Update(static_cast<int64_t>(p.applied),
                      ("events of " + std::to_string(p.head)).c_str());
    } else if (!caught_up_said) {
      progress.Done();
      std::fprintf(stderr, "relais sink: caught up at position %llu\n",
                   static_cast<unsigned long long>(p.applied));
      caught_up_said = true;
    }
  };
  o.committed = [&](const sink::BatchCommitted&) { caught_up_said = false; };
  struct sigaction sa {};
  sa.sa_handler = OnStop;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  sink::Sink s(**source, o);
  sink::SinkResult r = s.Run(g_stop);
  switch (r.exit) {
    case sink::SinkExit::kStopped:
    case sink::SinkExit::kCaughtUp:
      std::printf("{\"position\": %llu}\n", static_cast<unsigned long long>(r.applied));
      return kExitOk;
    case sink::SinkExit::kMismatch:
      std::fprintf(stderr, "relais sink: refused: %s\n", r.status.message().c_str());
      return kExitSinkMismatch;
    case sink::SinkExit::kFailed:
      break;
  }
  // A feed's token refused is the caller's error (exit 2, as a usage error).
  return Fail(r.status);
}

int RunExport(const std::string& data_dir, const ExportArgs& args) {
  std::optional<Timestamp> known_at;
  if (!args.known_at.empty()) {
    known_at = ParseTimestamp(args.known_at);
    if (!known_at)
      return Usage("--known-at: '" + args.known_at + "' is not an RFC 3339 UTC instant");
  }
  if (args.format != "ndjson" && args.format != "cloudevents")
    return Usage("--format: '" + args.format + "' is not one of ndjson, cloudevents");
  if (!IsDataDirectory(data_dir)) return NoDataDirectory(data_dir);
  auto key = server::LoadPseudonymKey(data_dir);
  if (!key.ok()) return Fail(key.status());
  auto engine = OpenReadOnly(data_dir);
  if (!engine.ok()) return Fail(engine.status());
  const bool cloudevents = args.format == "cloudevents";
  const std::string source = projections::InstallationSource(**engine);
  Status inner;
  Status st =
      projections::ExportPseudonymised(**engine, known_at, *key, [&](std::string_view line) {
        if (!cloudevents) return std::fwrite(line.data(), 1, line.size(), stdout) == line.size();
        auto ce = projections::ToCloudEvent(line.substr(0, line.size() - 1), source);
        if (!ce.ok()) {
          inner = ce.status();
          return false;
        }
        ce->push_back('\n');
        return std::fwrite(ce->data(), 1, ce->size(), stdout) == ce->size();
      });
  if (!st.ok()) return Fail(st);
  if (!inner.ok()) return Fail(inner);
  if (std::fflush(stdout) != 0)
    return Fail(Status::IoError("export: writing standard output failed"));
  return kExitOk;
}

}  // namespace relais::cli
