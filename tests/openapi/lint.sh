#!/usr/bin/env bash
# Lints docs/openapi.yaml with @redocly/cli (pinned in package-lock.json,
# installed by scripts/install-openapi-tools.sh). Exit 77 (ctest: skipped,
# loudly) when the tool was not installed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/node_modules/.bin/redocly"
if [[ ! -x "$bin" ]]; then
  echo "SKIPPED: $bin is not installed: run scripts/install-deps.sh (it runs scripts/install-openapi-tools.sh)" >&2
  exit 77
fi
# No telemetry from a test run.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
exec "$bin" lint --config "$here/redocly.yaml" "$here/../../docs/openapi.yaml"
