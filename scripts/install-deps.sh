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
  # tools/sink (libpq, always built), its tests and the bench's PostgreSQL baseline
  # (the server, started by them in a temporary directory).
  postgresql libpq-dev
  # scripts/fuzz.sh: libFuzzer and the sanitizer runtimes come with clang.
  clang libclang-rt-14-dev
  # The linker of every build (CMakeLists.txt RELAIS_LLD): links the test
  # executables several times faster than GNU ld.
  lld
  # tests/tools/household_file_test: the household's file rendered in headless Chromium.
  chromium fonts-dejavu-core
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed" >&2
  exit 0
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
