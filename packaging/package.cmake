# The Debian package (CPack DEB): `cmake --build build --target package`
# writes build/relais_<version>_<arch>.deb. Contents and maintainer scripts:
# docs/deploy.md; checked by tests/packaging/check_deb.sh (ctest
# package_test) and, installed in a fresh Debian 12, by
# scripts/deb-install-check.sh.
install(TARGETS relais RUNTIME DESTINATION bin)
# Debian 12 keeps packaged units in /lib/systemd/system.
install(FILES ${CMAKE_SOURCE_DIR}/packaging/relais.service DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/relais.toml DESTINATION /etc/relais)
install(FILES ${CMAKE_SOURCE_DIR}/docs/deploy.md ${CMAKE_SOURCE_DIR}/docs/server.md
        DESTINATION share/doc/relais)

# `install` (which CPack runs) does not rebuild everything first: the
# package needs the relais binary alone, and the package test reuses the
# build as it is. `cmake --build build --target package` still builds all.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME relais)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "relais")
set(CPACK_PACKAGE_CONTACT "relais maintainers <relais@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "event-sourced case-tracking engine for accompanied social housing")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "relais records the accompaniment of households in social housing as an\n\
append-only, hash-chained event log, and serves it over an HTTP API\n\
(relais serve) with roles, an access journal, signed checkpoints and\n\
evaluation reports. This package installs the relais command, a hardened\n\
systemd unit (relais.service) and its configuration, /etc/relais/relais.toml.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Shared libraries from dpkg-shlibdeps; adduser for the postinst's system user.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_SOURCE_DIR}/packaging/debian/conffiles;${CMAKE_SOURCE_DIR}/packaging/debian/postinst;${CMAKE_SOURCE_DIR}/packaging/debian/prerm;${CMAKE_SOURCE_DIR}/packaging/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
