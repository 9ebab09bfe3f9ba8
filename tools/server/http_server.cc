#include "server/http_server.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <optional>
#include <mutex>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <thread>

#include "relais/projections/cloudevents.h"
#include "server/connection_limits.h"
#include "server/server_sink.h"
#include "server/state.h"
#include "server/transport.h"

namespace relais::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Status RunServer(const ServerOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  // Everything the server creates in the data directory (RocksDB's files
  // included, which follow the umask) is owner-only, whatever the umask it
  // was started with.
  ::umask(077);
  // Many idle connections are allowed: raise the descriptor limit to the
  // hard one, then keep the connection cap below what we got.
  rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  size_t nofile = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                      ? static_cast<size_t>(rl.rlim_cur)
                      : size_t{1} << 20;
  size_t cap = EffectiveConnectionCap(options.connections_max, nofile);
  size_t per_address = options.connections_per_address_max
                           ? std::min(options.connections_per_address_max, cap)
                           : DefaultPerAddressCap(cap);
  if (cap < options.connections_max)
    std::fprintf(stderr,
                 "relais serve: %zu descriptors allowed: at most %zu connections (not %zu)\n",
                 nofile, cap, options.connections_max);

  // The sink's options are checked before anything opens (usage errors).
  sink::SinkOptions sink_options;
  if (!options.sink_dsn.empty()) {
    auto scope = sink::ScopeFromName(options.sink_scope);
    if (!scope) return Status::InvalidArgument("--sink-scope: '" + options.sink_scope + "' is not one of evaluator, admin");
    auto format = sink::EventsFormatFromName(options.sink_events_format);
    if (!format)
      return Status::InvalidArgument("--sink-events-format: '" + options.sink_events_format +
                                     "' is not one of envelope, cloudevents");
    if (!sink::ValidSchemaName(options.sink_schema))
      return Status::InvalidArgument("--sink-schema: '" + options.sink_schema +
                                     "' is not a schema name [a-z_][a-z0-9_]* of at most 63 bytes");
    sink_options.dsn = options.sink_dsn;
    sink_options.scope = *scope;
    sink_options.schema = options.sink_schema;
    sink_options.events_format = *format;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<State> state, OpenState(options));
  State& s = *state;
  std::unique_ptr<ServerSink> sink;
  if (!options.sink_dsn.empty()) {
    sink_options.pseudonym_key = s.pseudonym_key;
    sink_options.source_name = projections::InstallationSource(*s.engine);
    sink = std::make_unique<ServerSink>(*s.engine, std::move(sink_options));
  }
  Runtime rt(s, cap, per_address, options.worker_threads);

  net::io_context ioc(options.io_threads);
  // The io threads run until ioc.stop() below, even when no operation is
  // pending on the io_context: a handler a worker (or the waiter) has yet to
  // post, such as a stream's next chunk or a report's answer, counts as no
  // work for it, and without this guard run() returned once the listener
  // and the last sockets closed at shutdown, leaving that post unrun (a
  // stream in the middle of a pull then held StopAll for its whole grace).
  auto keep_running = net::make_work_guard(ioc);
  // On a strand: Listener::Stop posts the close to the acceptor's executor,
  // which must not run beside an accept handler on another io thread (TSan).
  tcp::acceptor acceptor(net::make_strand(ioc));
  boost::system::error_code ec;
  auto address = net::ip::make_address(options.address, ec);
  if (ec) return Status::InvalidArgument("--listen: '" + options.address + "' is not an address");
  tcp::endpoint endpoint(address, options.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Status::IoError("cannot listen on " + options.address + ":" +
                           std::to_string(options.port) + ": " + ec.message());
  uint16_t port = acceptor.local_endpoint().port();
  auto listener = StartListener(ioc, std::move(acceptor), rt);

  std::promise<void> stop;
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) { stop.set_value(); });

  std::vector<std::thread> io;
  for (int i = 0; i < options.io_threads; ++i) io.emplace_back([&] { ioc.run(); });
  std::printf("{\"listening\": \"%s:%u\"}\n", options.address.c_str(), port);
  std::fflush(stdout);

  // Periodic checkpoints: every one is kept (engine), so that a log later
  // rewritten disagrees with what was published.
  std::mutex cp_mu;
  std::condition_variable cp_cv;
  bool cp_stop = false;
  std::thread checkpoints;
  if (options.checkpoint_interval_s > 0) {
    checkpoints = std::thread([&] {
      std::optional<Position> issued;
      std::unique_lock<std::mutex> lock(cp_mu);
      while (!cp_stop) {
        Position head = s.engine->GetHead().position;
        if (!issued || *issued != head) {
          lock.unlock();
          auto note = s.engine->Checkpoint(head);
          if (!note.ok())
            std::fprintf(stderr, "relais serve: no checkpoint of size %llu: %s\n",
                         static_cast<unsigned long long>(head), note.status().message().c_str());
          issued = head;
          lock.lock();
        }
        cp_cv.wait_for(lock, std::chrono::seconds(options.checkpoint_interval_s), [&] { return cp_stop; });
      }
    });
  }

  stop.get_future().wait();
  std::fprintf(stderr, "relais serve: stopping: finishing in-flight writes\n");
  // Graceful shutdown: no new connection, no new request; every write already
  // accepted completes (and gets its answer) before the engine closes.
  s.stopping = true;
  StopListener(listener);
  // Every feed and export ends now (its socket closed on its strand: the
  // reader sees the connection end) and is gone before the io threads stop:
  // none outlives the runtime. Each ends within one pull once its socket is
  // closed (a feed batch or a 64 KiB export piece, on the worker pool).
  if (!rt.streams->StopAll(std::chrono::milliseconds(kShutdownGraceMs)))
    std::fprintf(stderr, "relais serve: streams still open after the grace period\n");
  using SteadyClock = std::chrono::steady_clock;
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(kShutdownGraceMs);
  while (s.in_flight_writes.load() > 0 && SteadyClock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Give the last answers a moment to leave the io threads.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  keep_running.reset();
  ioc.stop();
  for (auto& t : io) t.join();
  rt.workers->join();
  rt.StopWaiter();
  // After the last write: the sink applies what was committed, within one
  // batch or wait, and its thread is gone before the engine closes.
  if (sink) sink->Stop();
  if (checkpoints.joinable()) {
    {
      std::lock_guard<std::mutex> lock(cp_mu);
      cp_stop = true;
    }
    cp_cv.notify_all();
    checkpoints.join();
  }
  s.engine->Close();
  std::fprintf(stderr, "relais serve: stopped\n");
  return Status::Ok();
}

}  // namespace relais::server
