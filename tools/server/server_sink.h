// The sink of `relais serve --sink-dsn` (docs/sink.md): a sink::Sink over the
// server's own engine, on a thread of its own.
//
// Ownership: RunServer owns the ServerSink; the ServerSink owns its thread,
// the Sink and the stop flag. The thread is the only one that touches the
// Sink's PostgreSQL connection; it reads the engine like any handler. Stop()
// (also from the destructor) sets the flag and joins: the sink abandons the
// batch it is building (nothing of it was sent), or ends the transaction it
// is sending, or its wait (SinkOptions::wait_ms), and the thread is gone
// before RunServer closes the engine. A sink that stops on
// its own (a database built from another log) says why on stderr; the server
// goes on serving.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "relais/engine.h"
#include "sink/sink.h"

namespace relais::server {

class ServerSink {
 public:
  // Starts the thread. `options.dsn` must be set.
  ServerSink(Engine& engine, sink::SinkOptions options);
  ~ServerSink();
  ServerSink(const ServerSink&) = delete;
  ServerSink& operator=(const ServerSink&) = delete;

  void Stop();  // idempotent
  Position applied() const { return sink_->applied(); }

 private:
  std::unique_ptr<sink::LogSource> source_;
  std::unique_ptr<sink::Sink> sink_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace relais::server
