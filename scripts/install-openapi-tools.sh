#!/usr/bin/env bash
# Installs the npm tools of tests/openapi/ (@redocly/cli, which lints
# docs/openapi.yaml) exactly as tests/openapi/package-lock.json pins them,
# into tests/openapi/node_modules. Run by scripts/install-deps.sh, at install
# time only: tests never fetch anything. Quick when nothing changed (a stamp
# of the lockfile's hash in node_modules). Needs node and npm: installs
# Debian's npm when the nodejs package brought none.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../tests/openapi"

if ! command -v npm >/dev/null 2>&1; then
  echo "install-openapi-tools: installing npm (Debian)" >&2
  SUDO=()
  ((EUID == 0)) || SUDO=(sudo)
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm ||
    { "${SUDO[@]}" apt-get update && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends npm; }
fi

stamp=node_modules/.relais-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x node_modules/.bin/redocly ]]; then
  echo "install-openapi-tools: tests/openapi/node_modules matches package-lock.json" >&2
  exit 0
fi
echo "install-openapi-tools: npm ci in tests/openapi" >&2
# --ignore-scripts: the lint needs no install script (protobufjs's postinstall
# only concerns telemetry we do not use).
npm ci --no-audit --no-fund --ignore-scripts
echo "$want" >"$stamp"
