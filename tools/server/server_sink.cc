#include "server/server_sink.h"

#include <cstdio>

namespace relais::server {

ServerSink::ServerSink(Engine& engine, sink::SinkOptions options)
    : source_(sink::SharedEngineSource(engine)) {
  if (!options.log)
    options.log = [](const std::string& m) {
      std::fprintf(stderr, "relais serve: sink: %s\n", m.c_str());
    };
  sink_ = std::make_unique<sink::Sink>(*source_, std::move(options));
  thread_ = std::thread([this] {
    sink::SinkResult r = sink_->Run(stop_);
    if (r.exit == sink::SinkExit::kMismatch || r.exit == sink::SinkExit::kFailed)
      std::fprintf(stderr, "relais serve: sink stopped at position %llu: %s\n",
                   static_cast<unsigned long long>(r.applied), r.status.message().c_str());
  });
}

ServerSink::~ServerSink() { Stop(); }

void ServerSink::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace relais::server
