#!/usr/bin/env bash
# Installs the Debian 12 packages hfmirror needs to build, mount and test,
# skipping what is already there. Run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config   # toolchain
  libfuse3-dev fuse3                             # FUSE low-level API and fusermount3
  libcurl4-openssl-dev                           # HTTP (multi interface)
  liblmdb-dev                                    # the block cache
  libssl-dev                                     # sha256 / sha1, TLS
  nlohmann-json3-dev                             # the Hub's JSON
  libcli11-dev                                   # the hfmirror command's subcommands (header-only)
  libgtest-dev libgmock-dev                      # unit tests
  python3 python3-pytest python3-numpy           # test hub, integration tests, numpy consumer
  python3-torch                                  # the torch consumer test loads a pytorch_model.bin
  python3-lmdb                                   # tests read the cache independently of the daemon
  curl ca-certificates
  attr                                           # getfattr: the xattr test reads as an admin would
  clang libclang-rt-14-dev                       # libFuzzer targets (scripts/fuzz.sh, ctest fuzz_smoke)
  nginx-light aria2 rclone httpdirfs             # scripts/bench: the data server and the peers it measures
  python3-matplotlib                             # scripts/bench's chart
)
if [[ "${HFM_WITH_NODE:-0}" == 1 ]] && ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)                         # the official JS client test
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [[ ! -e /dev/fuse ]]; then
  modprobe fuse 2>/dev/null || true
fi
