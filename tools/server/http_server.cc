#include "server/http_server.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <optional>
#include <mutex>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "relais/json_writer.h"
#include "relais/projections/cloudevents.h"
#include "server/connection_limits.h"
#include "server/server_sink.h"
#include "server/state.h"
#include "server/tls.h"
#include "server/transport.h"
#include "version/version.h"

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
  // The TLS files first: a bad one is an error before anything opens.
  std::unique_ptr<TlsContexts> tls;
  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    if (options.tls_cert.empty() || options.tls_key.empty())
      return Status::InvalidArgument("--tls-cert and --tls-key go together");
    ASSIGN_OR_RETURN(tls, TlsContexts::Load(options.tls_cert, options.tls_key));
  }

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
  if (cap < options.connections_max)
    s.log->Warn("descriptor limit caps the connections", [&](JsonWriter& w) {
      w.Key("descriptors").Uint(nofile);
      w.Key("connectionsMax").Uint(cap);
      w.Key("requested").Uint(options.connections_max);
    });
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
  // Both addresses are bound before either accepts. The metrics address
  // is plain HTTP (a scraper on a private network; no case data there).
  std::shared_ptr<Listener> metrics_listener;
  std::string metrics_listen;
  tcp::acceptor ma(net::make_strand(ioc));
  if (!options.metrics_address.empty()) {
    auto maddr = net::ip::make_address(options.metrics_address, ec);
    if (ec)
      return Status::InvalidArgument("--metrics-listen: '" + options.metrics_address +
                                     "' is not an address");
    tcp::endpoint mep(maddr, options.metrics_port);
    ma.open(mep.protocol(), ec);
    if (!ec) ma.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) ma.bind(mep, ec);
    if (!ec) ma.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return Status::IoError("cannot listen on " + options.metrics_address + ":" +
                             std::to_string(options.metrics_port) + " (--metrics-listen): " +
                             ec.message());
    metrics_listen = options.metrics_address + ":" + std::to_string(ma.local_endpoint().port());
  }
  std::string listening = (options.address.find(':') != std::string::npos
                               ? "[" + options.address + "]"
                               : options.address) +
                          ":" + std::to_string(port);
  std::unique_ptr<ControlServer> control;
  if (options.control) {
    // A backup lists and copies the directory: the access journal keeps its
    // files' names meanwhile, as for POST /v1/backup (handler_backup.cc), or
    // a rotation between the two would leave the active file's entries out.
    ControlCommand command = [&s, inner = options.control](
                                 Engine& engine, const std::string& dir, const std::string& name,
                                 const std::vector<std::string>& args, std::istream& input,
                                 const CommandOutput& out) {
      std::optional<AccessJournal::RotationHold> hold;
      if (name == "backup") hold.emplace(s.journal->HoldRotation());
      return inner(engine, dir, name, args, input, out);
    };
    ASSIGN_OR_RETURN(control, ControlServer::Start(*s.engine, options.data_dir, listening,
                                                   std::move(command)));
  }
  auto listener = StartListener(ioc, std::move(acceptor), rt, tls.get());
  if (!metrics_listen.empty())
    metrics_listener = StartListener(ioc, std::move(ma), rt, nullptr, /*metrics_only=*/true);

  std::promise<void> stop;
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) { stop.set_value(); });
  // SIGHUP: the TLS files again (a renewed certificate), the listener and
  // the open connections untouched. Without TLS there is nothing to
  // reload, and a SIGHUP no longer ends the server.
  net::signal_set hup(ioc, SIGHUP);
  std::function<void(boost::system::error_code, int)> on_hup =
      [&](boost::system::error_code ec, int) {
        if (ec) return;  // cancelled at shutdown
        if (!tls) {
          s.log->Info("SIGHUP: no TLS files to reload");
        } else {
          // systemd (Type=notify, ExecReload): reloading, then ready again.
          sd_notify(0, "RELOADING=1");
          if (Status st = tls->Reload(); st.ok()) {
            s.log->Info("SIGHUP: TLS certificate reloaded",
                        [&](JsonWriter& w) { w.Key("cert").String(tls->cert_file()); });
          } else {
            s.log->Warn("SIGHUP: TLS reload failed, the previous certificate stays",
                        [&](JsonWriter& w) { w.Key("error").String(st.message()); });
          }
          sd_notify(0, "READY=1");
        }
        hup.async_wait(on_hup);
      };
  hup.async_wait(on_hup);

  std::vector<std::thread> io;
  for (int i = 0; i < options.io_threads; ++i) io.emplace_back([&] { ioc.run(); });
  std::printf("{\"listening\": \"%s:%u\"}\n", options.address.c_str(), port);
  std::fflush(stdout);
  s.log->Info("listening", [&](JsonWriter& w) {
    w.Key("version").String(Version());
    w.Key("listen").String(options.address + ":" + std::to_string(port));
    w.Key("tls").Bool(tls != nullptr);
    w.Key("dataDir").String(options.data_dir);
    w.Key("events").Uint(s.engine->GetHead().position);
    if (!metrics_listen.empty()) w.Key("metricsListen").String(metrics_listen);
  });
  // systemd's Type=notify: started once it accepts (a no-op without
  // $NOTIFY_SOCKET, i.e. outside systemd).
  {
    std::string status = "READY=1\nSTATUS=listening on " + options.address + ":" +
                         std::to_string(port) + (tls ? " (HTTPS)" : "");
    sd_notify(0, status.c_str());
  }

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
            s.log->Error("no checkpoint", [&](JsonWriter& w) {
              w.Key("size").Uint(head);
              w.Key("error").String(note.status().message());
            });
          issued = head;
          lock.lock();
        }
        cp_cv.wait_for(lock, std::chrono::seconds(options.checkpoint_interval_s), [&] { return cp_stop; });
      }
    });
  }

  stop.get_future().wait();
  s.log->Info("stopping: finishing in-flight writes");
  sd_notify(0, "STOPPING=1\nSTATUS=stopping: finishing in-flight writes");
  // Graceful shutdown: no new connection, no new request; every write already
  // accepted completes (and gets its answer) before the engine closes.
  s.stopping = true;
  StopListener(listener);
  {
    boost::system::error_code ignored;
    hup.cancel(ignored);
  }
  if (metrics_listener) StopListener(metrics_listener);
  // No new control command; those running end (they hold the engine).
  control.reset();
  // Every feed and export ends now (its socket closed on its strand: the
  // reader sees the connection end) and is gone before the io threads stop:
  // none outlives the runtime. Each ends within one pull once its socket is
  // closed (a feed batch or a 64 KiB export piece, on the worker pool).
  if (!rt.streams->StopAll(std::chrono::milliseconds(kShutdownGraceMs)))
    s.log->Warn("streams still open after the grace period");
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
  Position events = s.engine->GetHead().position;
  s.engine->Close();
  s.log->Info("stopped", [&](JsonWriter& w) { w.Key("events").Uint(events); });
  return Status::Ok();
}

}  // namespace relais::server
