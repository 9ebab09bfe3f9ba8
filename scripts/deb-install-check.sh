#!/usr/bin/env bash
# By hand, as root: installs the Debian package in a fresh Debian 12 root
# and runs it the way relais.service would (there is no systemd in a
# chroot), then reads /healthz.
#
#   scripts/deb-install-check.sh [ROOT [DEB]]
#
# ROOT (default /tmp/relais-debroot) is made by ../shared/tools/fresh-debian.sh
# (debootstrap, a few minutes the first time; reused after). DEB defaults to
# the newest build/relais_*.deb (`cmake --build build --target package`).
# Steps: apt installs the .deb (its dependencies from the archive), the
# postinst's user and directories are checked (owner, mode), the unit's
# ExecStart line runs as user relais, /healthz must answer ok with the
# package's version, a token is made and used, the data files must be
# owner-only, SIGTERM must stop it with exit 0, and a purge must keep a data
# directory that holds a log. Prints one line per check; exit 1 if any fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
root=${1:-/tmp/relais-debroot}
deb=${2:-$(ls -t build/relais_*.deb 2>/dev/null | head -n1 || true)}
fresh=${FRESH_DEBIAN:-$repo/../shared/tools/fresh-debian.sh}
[[ $EUID -eq 0 ]] || { echo "deb-install-check: run as root (chroot, apt)" >&2; exit 1; }
[[ -n "$deb" && -f "$deb" ]] ||
  { echo "deb-install-check: no .deb: cmake --build build --target package, or give DEB" >&2; exit 1; }
[[ -x "$fresh" || -f "$fresh" ]] || { echo "deb-install-check: no $fresh" >&2; exit 1; }

bash "$fresh" "$root" "$repo" >&2
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
  # fresh-debian.sh bind-mounts these: never leave /dev mounted in a root
  # someone may later delete with rm -r.
  for d in dev sys proc; do mountpoint -q "$root/$d" && umount "$root/$d" || true; done
}
trap cleanup EXIT
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
fail=0
check() {
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}

# A clean slate for the package (the root is reused between runs).
in_root sh -c 'dpkg -s relais >/dev/null 2>&1 && apt-get purge -y -qq relais >/dev/null 2>&1; rm -rf /var/lib/relais /var/backups/relais; true'
cp "$deb" "$root/tmp/relais.deb"
in_root apt-get update -qq >&2
echo "installing $(basename "$deb") with apt" >&2
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/relais.deb >&2

check "relais --version"              in_root /usr/bin/relais --version
check "system user relais"            in_root sh -c 'getent passwd relais | grep -q ":/var/lib/relais:/usr/sbin/nologin$"'
check "/var/lib/relais 0700 relais"   test "$(in_root stat -c '%a %U %G' /var/lib/relais)" = "700 relais relais"
check "/var/backups/relais 0700"      test "$(in_root stat -c '%a %U' /var/backups/relais)" = "700 relais"
check "/etc/relais/relais.toml"       test -f "$root/etc/relais/relais.toml"
check "unit installed"                test -f "$root/lib/systemd/system/relais.service"
check "conffile registered"           in_root sh -c 'dpkg-query -W -f="\${Conffiles}" relais | grep -q /etc/relais/relais.toml'

# The unit's command line, as the unit's user. The chroot shares this
# machine's network: when the unit's port is taken here, a free one is
# asked for on the command line (which overrides the file).
execstart=$(sed -n 's/^ExecStart=//p' "$root/lib/systemd/system/relais.service")
port=$(sed -n 's/^listen = "127.0.0.1:\([0-9]*\)"$/\1/p' "$root/etc/relais/relais.toml")
cmd=$execstart
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is taken on this machine: adding --listen 127.0.0.1:0" >&2
  cmd="$execstart --listen 127.0.0.1:0"
fi
ids="$(in_root id -u relais):$(in_root id -g relais)"
echo "running as relais ($ids): $cmd" >&2
out=$(mktemp)
chroot --userspec="$ids" "$root" /usr/bin/env -i PATH=/usr/bin:/bin $cmd >"$out" 2>"$out.err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.1; done
cat "$out" >&2
listen=$(sed -n 's/.*"listening": "\(.*\)".*/\1/p' "$out")
check "listening"                     test -n "$listen"
http() {  # http METHOD PATH [TOKEN] [BODY]: the whole answer
  local body=${4:-} auth=""
  [[ -n "${3:-}" ]] && auth="Authorization: Bearer $3"$'\r\n'
  exec 3<>"/dev/tcp/${listen%:*}/${listen##*:}"
  printf '%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%sContent-Length: %s\r\n\r\n%s' \
    "$1" "$2" "$auth" "${#body}" "$body" >&3
  cat <&3
  exec 3<&-
}
healthz=$(http GET /healthz | tail -n1)
echo "GET /healthz -> $healthz"
version=$(in_root /usr/bin/relais --version | cut -d' ' -f2)
check "/healthz ok with the version"  test "$healthz" = "{\"ok\":true,\"version\":\"$version\"}"

token=$(chroot --userspec="$ids" "$root" /usr/bin/relais --data /var/lib/relais token add \
          --name admin --role admin | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
check "token add beside the server"   test -n "$token"
verify=$(http GET /v1/verify "$token" | tail -n1)
echo "GET /v1/verify -> $verify"
check "an authenticated read"         grep -q '"ok":true' <<<"$verify"
check "data files owner-only" \
  test -z "$(in_root find /var/lib/relais -mindepth 1 \( -perm /077 -o ! -user relais \) -print)"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
check "SIGTERM: exit 0"               test "$rc" = 0
cat "$out.err" >&2

in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq relais >&2
check "purge keeps a data directory with a log" test -d "$root/var/lib/relais/log"
check "purge removes the program"     test ! -e "$root/usr/bin/relais"
rm -f "$out" "$out.err"
exit $fail
