#!/usr/bin/env bash
# Installs what relais needs to build and test, on Debian 12 (bookworm).
#
# Idempotent and quick to re-run: when every package below is already
# installed (dpkg-query), it does nothing at all. Otherwise it installs the
# missing ones with apt-get, refreshing the package lists first only when apt
# does not know one of them (a fresh minimal image has empty lists) or when an
# install from stale lists fails.
#
# Run as root (CI and the project's machines are root); as another user it
# goes through sudo when sudo exists.
set -euo pipefail

PACKAGES=(
  build-essential g++ cmake ninja-build ccache pkg-config git ca-certificates
  librocksdb-dev capnproto libcapnp-dev libboost-dev libspdlog-dev libsodium-dev
  libsimdjson-dev libcli11-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  libssl-dev libgoogle-perftools-dev
  # tests/packaging (package_test): CPack's DEB generator runs dpkg-shlibdeps on
  # the binary and needs `file` to find it (CPackDeb.cmake); a minimal Debian
  # has neither (seen on a fresh root: package_test failed).
  file dpkg-dev
  # `relais serve --config`: the TOML configuration file (tools/cli/serve_command.cc).
  libtomlplusplus-dev
  # `relais serve` under systemd (Type=notify: sd_notify, tools/server/http_server.cc).
  libsystemd-dev
  # tests/server/tls_test: the self-signed certificates of the HTTPS tests.
  openssl
  # tools/sink (libpq, always built), its tests and the bench's PostgreSQL baseline
  # (the server, started by them in a temporary directory).
  postgresql libpq-dev
  # scripts/fuzz.sh: libFuzzer and the sanitizer runtimes come with clang.
  clang libclang-rt-14-dev
  # The linker of every build (CMakeLists.txt RELAIS_LLD): links the test
  # executables several times faster than GNU ld.
  lld
  # tests/server/ops_metrics_test: `promtool check metrics` on a scrape. Debian
  # ships promtool only in the prometheus package (19 MB download, 96 MB
  # installed; its service is not started in a container without systemd).
  prometheus
  # tests/tools/household_file_test: the household's file rendered in headless Chromium.
  chromium fonts-dejavu-core
  # tests/browser: the web console driven in that Chromium by puppeteer-core
  # (npm packages pinned in tests/browser/package-lock.json, installed below).
  # docs/openapi.yaml: converted to JSON at build time (python3-yaml) and the
  # server tests' responses validated against it (python3-jsonschema,
  # tests/openapi/validate_responses.py); nodejs runs @redocly/cli lint, pinned
  # in tests/openapi/package-lock.json (scripts/install-openapi-tools.sh, run
  # at the end, installs npm when the nodejs package has none).
  python3-yaml python3-jsonschema nodejs
)

# The browser test's npm packages, exactly as the committed lock file pins
# them (npm ci), installed here and never at test run time. Skipped when the
# installed tree was made from the same lock file. Debian's nodejs comes
# without npm (a package of its own); some nodejs builds bundle it.
install_browser_test_packages() {
  local dir lock stamp
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/browser"
  lock="$dir/package-lock.json"
  stamp="$dir/node_modules/.relais-lock.sha256"
  [[ -f "$lock" ]] || return 0
  if [[ -f "$stamp" ]] && [[ "$(sha256sum "$lock" | cut -d' ' -f1)" == "$(cat "$stamp")" ]]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm ||
      { "${SUDO[@]}" apt-get update && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
          apt-get install -y --no-install-recommends npm; }
  fi
  echo "install-deps: npm ci in tests/browser" >&2
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund)
  sha256sum "$lock" | cut -d' ' -f1 >"$stamp"
}
SUDO=()
if ((EUID != 0)) && command -v sudo >/dev/null 2>&1; then SUDO=(sudo); fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed" >&2
  install_browser_test_packages
  exec bash "$(dirname "${BASH_SOURCE[0]}")/install-openapi-tools.sh"
fi

SUDO=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: missing packages (${missing[*]}) and not root, no sudo: run as root" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
apt_update() { "${SUDO[@]}" apt-get update; }
apt_install() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

echo "install-deps: installing ${missing[*]}" >&2
# apt-get update only if apt has no candidate for one of the missing packages.
need_update=0
for p in "${missing[@]}"; do
  candidate=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
    need_update=1
    break
  fi
done
if ((need_update)); then
  apt_update
  apt_install
elif ! apt_install; then
  # Stale lists (a package version no longer on the mirror): refresh, retry once.
  apt_update
  apt_install
fi

install_browser_test_packages
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-openapi-tools.sh"
