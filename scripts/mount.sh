#!/usr/bin/env bash
# Installs what is missing, builds, and mounts the Hub on MOUNTPOINT
# (default /mnt/models). Run as root on Debian 12.
#
#   HFM_SAMPLE=1 scripts/mount.sh /mnt/models   # mount the bundled sample hub (no internet)
#   scripts/mount.sh /mnt/models -o endpoint=https://hf-mirror.com
#
# Extra arguments go to mount.hfmirror. Unmount with: fusermount3 -u MOUNTPOINT
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mountpoint=${1:-/mnt/models}
shift || true
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
mkdir -p "$mountpoint"
extra=()
if [[ "${HFM_SAMPLE:-0}" == 1 ]]; then
  state=${HFM_SAMPLE_DIR:-/var/lib/hfmirror-sample}
  mkdir -p "$state"
  # The sample hub serves the test fixtures on 127.0.0.1 (and its CDN on 127.0.0.2).
  rm -f "$state/hub.json"
  nohup /usr/bin/python3 "$root/tests/hub/testhub.py" --fixtures "$state/fixtures" \
    --port-file "$state/hub.json" >"$state/hub.log" 2>&1 &
  echo $! >"$state/hub.pid"
  for _ in $(seq 1 600); do [[ -s "$state/hub.json" ]] && break; sleep 0.1; done
  [[ -s "$state/hub.json" ]] || { echo "sample hub did not start; see $state/hub.log" >&2; exit 1; }
  hub=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hub"])' "$state/hub.json")
  extra=(-o "endpoint=$hub,cache=$state/cache")
  echo "sample hub at $hub (pid $(cat "$state/hub.pid")); try: ls $mountpoint/hfm-test/tiny-model"
fi
"${HFM_BUILD_DIR:-$root/build}/mount.hfmirror" "$mountpoint" "${extra[@]}" "$@"
echo "mounted on $mountpoint"
