#pragma once
// The OpenAPI description of the REST API (docs/openapi.json), compiled in
// and served at GET /openapi.json.

namespace barid::gateway {

const char* openapi_document();

}  // namespace barid::gateway
