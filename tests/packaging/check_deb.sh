#!/usr/bin/env bash
# ctest package_test: builds the Debian package from the existing build (no
# rebuild: CPack installs the relais binary already built) into a temporary
# directory, then checks it with dpkg-deb: the files, their modes and
# owners, the conffile, the maintainer scripts, and the dependencies that
# dpkg-shlibdeps computed.
#   check_deb.sh CPACK BUILD_DIR
set -euo pipefail
cpack=${1:?usage: check_deb.sh CPACK BUILD_DIR}
build=${2:?usage: check_deb.sh CPACK BUILD_DIR}
for tool in dpkg-deb dpkg-shlibdeps readelf; do
  command -v "$tool" >/dev/null || { echo "package_test: no $tool (dpkg-dev, binutils)" >&2; exit 1; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
check() {  # check WHAT COMMAND...: prints ok/FAIL
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}

"$cpack" -G DEB -B "$out" --config "$build/CPackConfig.cmake" >"$out/cpack.log" 2>&1 ||
  { cat "$out/cpack.log" >&2; exit 1; }
debs=("$out"/relais_*.deb)
[[ -f "${debs[0]}" ]] || { echo "package_test: no .deb in $out" >&2; cat "$out/cpack.log" >&2; exit 1; }
deb=${debs[0]}
echo "package: $(basename "$deb") ($(stat -c %s "$deb") bytes)"

contents=$(dpkg-deb -c "$deb")
info=$(dpkg-deb -I "$deb")
field() { dpkg-deb -f "$deb" "$1"; }
# A file of the package: its mode string and owner, e.g. "-rwxr-xr-x root/root".
entry() { awk -v p="./$1" '$6 == p { print $1, $2 }' <<<"$contents"; }

check "/usr/bin/relais 0755 root"                 test "$(entry usr/bin/relais)" = "-rwxr-xr-x root/root"
check "relais.service in /lib/systemd/system"     test "$(entry lib/systemd/system/relais.service)" = "-rw-r--r-- root/root"
check "/etc/relais/relais.toml 0644 root"          test "$(entry etc/relais/relais.toml)" = "-rw-r--r-- root/root"
check "docs in /usr/share/doc/relais"             test -n "$(entry usr/share/doc/relais/deploy.md)"
check "nothing outside usr, lib, etc" \
  test -z "$(awk '{print $6}' <<<"$contents" | grep -vE '^\./($|usr/|lib/|etc/)')"
check "no build tree or test binary" \
  test -z "$(awk '{print $6}' <<<"$contents" | grep -E 'test|\.a$|/include/')"

check "package name relais"                       test "$(field Package)" = relais
check "architecture amd64"                        test "$(field Architecture)" = "$(dpkg --print-architecture)"
depends=$(field Depends)
echo "Depends: $depends"
# RocksDB is linked statically (its compression libraries are dependencies).
for lib in libc6 libcapnp libsodium libssl libsystemd0 libtomlplusplus libzstd adduser; do
  check "depends on $lib"                         grep -q "$lib" <<<"$depends"
done

tmp_ctl="$out/control"
dpkg-deb -e "$deb" "$tmp_ctl"
check "conffiles lists /etc/relais/relais.toml once" \
  test "$(grep -c '^/etc/relais/relais.toml$' "$tmp_ctl/conffiles")" = 1
for s in postinst prerm postrm; do
  check "$s 0755 and valid sh"                    bash -c "test \"\$(stat -c %a '$tmp_ctl/$s')\" = 755 && sh -n '$tmp_ctl/$s'"
done
check "postinst creates the system user relais"  grep -q 'adduser --quiet --system --group' "$tmp_ctl/postinst"
check "postinst makes /var/lib/relais 0700 relais" \
  grep -q 'install -d -m 0700 -o relais -g relais /var/lib/relais' "$tmp_ctl/postinst"
check "postrm handles purge"                      grep -q '"purge"' "$tmp_ctl/postrm"

# The unit inside the package is the hardened one, and its ExecStart runs
# the packaged binary with the packaged configuration.
dpkg-deb -x "$deb" "$out/root"
unit="$out/root/lib/systemd/system/relais.service"
for key in "Type=notify" "User=relais" "ProtectSystem=strict" "PrivateTmp=yes" \
           "NoNewPrivileges=yes" "ProtectHome=yes" "CapabilityBoundingSet=" \
           "ExecStart=/usr/bin/relais serve --config /etc/relais/relais.toml"; do
  check "unit has $key"                           grep -qx "$key" "$unit"
done
check "unit has ReadWritePaths=/var/lib/relais"  grep -q '^ReadWritePaths=/var/lib/relais' "$unit"
# The packaged configuration is one the packaged binary accepts.
check "packaged relais.toml passes --check-config" \
  "$out/root/usr/bin/relais" serve --config "$out/root/etc/relais/relais.toml" --check-config
check "binary stripped (no symbol table, no debug info)" \
  bash -c "! readelf -S '$out/root/usr/bin/relais' | grep -qE '\.symtab|\.debug_'"

exit $fail
