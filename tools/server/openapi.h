// The OpenAPI 3.1 description of the HTTP API (docs/openapi.yaml), as JSON,
// embedded at build time; served at GET /v1/openapi.json without a token.
#pragma once

#include <string_view>

namespace relais::server {

std::string_view OpenApiJson();

}  // namespace relais::server
