# `cpack -G DEB` in the build directory makes hfmirror_<version>_<arch>.deb:
# /usr/sbin/mount.hfmirror (on Debian's merged /usr also /sbin/mount.hfmirror,
# where mount(8) looks for the helper of `-t hfmirror`), /usr/bin/hfmirror,
# their man pages, and
# examples of an fstab line, /etc/hfmirror.conf and systemd units.
include(GNUInstallDirs)

find_program(GZIP gzip REQUIRED)
set(HFM_MAN_PAGES)
foreach(page mount.hfmirror.8 hfmirror.1)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/${page}.gz
                     COMMAND ${GZIP} -9nc ${CMAKE_SOURCE_DIR}/packaging/${page} > ${CMAKE_BINARY_DIR}/${page}.gz
                     DEPENDS ${CMAKE_SOURCE_DIR}/packaging/${page}
                     COMMENT "gzip ${page}")
  list(APPEND HFM_MAN_PAGES ${CMAKE_BINARY_DIR}/${page}.gz)
  install(FILES ${CMAKE_BINARY_DIR}/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man_pages ALL DEPENDS ${HFM_MAN_PAGES})
install(FILES packaging/fstab.example packaging/hfmirror.conf.example packaging/mnt-models.mount
              packaging/mnt-models.automount
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hfmirror)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "hfmirror developers <hfmirror@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Hugging Face Hub repositories as a read-only FUSE file system")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Mounts the Hugging Face Hub, or mirrors of it, as one read-only tree:\n\
 /mnt/models/ORG/NAME[@REV]/..., datasets/ and spaces/, loaded by path with no\n\
 download step. Reads become ranged HTTP requests into a verified, shared\n\
 LMDB block cache; the mount also holds an official-layout Hugging Face cache\n\
 view, extended attributes and stats. Installs mount.hfmirror for mount(8).")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# The libraries it links, by their Debian 12 package names (dpkg-shlibdeps
# would find the same; naming them keeps the build free of it).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "fuse3, libfuse3-3, libcurl4, liblmdb0, libssl3, libc6, libstdc++6")
include(CPack)
