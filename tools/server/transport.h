// The HTTP/1.1 transport: the listener, one session per connection, the
// deadlines and the connection caps. Parses each request into a
// server::Request, routes it (server/router.h) and runs what the route says
// where it belongs: work on the worker pool, appends completed by the
// waiter, feeds and exports handed to server/streaming.h (asynchronous
// writes on the same socket and strand).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "server/connection_limits.h"
#include "server/state.h"
#include "server/streaming.h"

namespace relais::server {

class Waiter;

// What the transport adds to the shared State.
struct Runtime {
  Runtime(State& state, size_t connections_max, size_t per_address_max, int worker_threads);
  ~Runtime();
  State& s;
  ConnectionLimits limits;
  std::unique_ptr<boost::asio::thread_pool> workers;
  std::unique_ptr<Waiter> waiter;
  // The open feeds and exports (after `workers`, which their pulls use).
  std::unique_ptr<Streams> streams;
  // Waits for queued appends, then stops the waiter (after the workers joined).
  void StopWaiter();
};

class Listener;
class TlsContexts;

// Starts accepting on `acceptor`. Stop() closes it. With `tls` (which must
// outlive the listener), every connection is HTTPS, with the context
// tls->Current() gives at its accept. `metrics_only`: the --metrics-listen
// address, whose requests go to RouteMetricsListener (router.h: /metrics and
// /healthz, no token) instead of Route.
std::shared_ptr<Listener> StartListener(boost::asio::io_context& ioc,
                                        boost::asio::ip::tcp::acceptor acceptor, Runtime& rt,
                                        TlsContexts* tls = nullptr, bool metrics_only = false);
void StopListener(const std::shared_ptr<Listener>& listener);

}  // namespace relais::server
