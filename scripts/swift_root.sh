#!/usr/bin/env bash
# A Debian trixie root with the Swift 6 toolchain (Debian's swiftlang), for building and testing
# the pure-Swift MeshPoseKit package on Linux (docs/DESIGN.md §8). Idempotent.
#   scripts/swift_root.sh setup            create the root if it is missing
#   scripts/swift_root.sh test DIR         run `swift test` for the package in DIR (inside the repo)
set -euo pipefail
ROOT=${SWIFT_ROOT:-/opt/meshpose-swift-root}
REPO=$(cd "$(dirname "$0")/.." && pwd)

setup() {
  if [[ -x "$ROOT/usr/libexec/swift/bin/swift" ]]; then return 0; fi
  if [[ $(id -u) -ne 0 ]]; then echo "error: creating $ROOT needs root (debootstrap, chroot)" >&2; exit 1; fi
  if ! command -v debootstrap >/dev/null; then
    echo ">> installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  echo ">> debootstrap trixie into $ROOT (about 30 s)"
  rm -rf "$ROOT.partial"
  debootstrap --variant=minbase trixie "$ROOT.partial" http://deb.debian.org/debian >/dev/null
  echo ">> installing swiftlang into the trixie root (about a minute, 3 GB)"
  chroot "$ROOT.partial" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends swiftlang libc6-dev libstdc++-14-dev >/dev/null"
  mv "$ROOT.partial" "$ROOT"
}

run_test() {
  local pkg=$1
  setup
  mkdir -p "$ROOT/repo" "$ROOT/proc" "$ROOT/dev"
  cleanup() {
    umount "$ROOT/repo" 2>/dev/null || true
    umount "$ROOT/dev" 2>/dev/null || true
    umount "$ROOT/proc" 2>/dev/null || true
  }
  trap cleanup EXIT
  mount --bind "$REPO" "$ROOT/repo"
  mount -t proc proc "$ROOT/proc"
  mount --bind /dev "$ROOT/dev"
  chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/libexec/swift/bin:/usr/bin:/bin \
    /bin/bash -c "cd /repo/$pkg && swift test --disable-swift-testing --scratch-path /tmp/meshpose-swift-build 2>&1"
}

case "${1:-}" in
  setup) setup ;;
  test) run_test "${2:?package dir relative to the repo}" ;;
  *) echo "usage: $0 setup | test <package dir>" >&2; exit 2 ;;
esac
