// The console's static files (tools/server/console/), embedded in the binary
// at build time by tools/server/console/embed.cmake, so that `relais serve`
// needs nothing beside it and fetches nothing at run time.
#pragma once

#include <cstddef>

namespace relais::server {

struct ConsoleAsset {
  const char* name;  // "index.html", "app.js", ...
  const unsigned char* data;
  size_t size;
};
extern const ConsoleAsset kConsoleAssets[];
extern const size_t kConsoleAssetCount;

}  // namespace relais::server
