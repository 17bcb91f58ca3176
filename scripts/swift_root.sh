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
  mkdir -p "$ROOT.partial/repo" "$ROOT.partial/proc" "$ROOT.partial/dev"  # mount points of every test run
  mv "$ROOT.partial" "$ROOT"
}

run_test() {
  local pkg=$1
  if [[ ! -x "$ROOT/usr/libexec/swift/bin/swift" || ! -d "$ROOT/repo" ]]; then
    if [[ $(id -u) -ne 0 ]]; then
      echo "error: the Swift root $ROOT is missing or incomplete; creating it needs root once (debootstrap, 3.3 GB): run \`sudo make swift-root\`, then make test runs as any user" >&2
      exit 1
    fi
    setup
    mkdir -p "$ROOT/repo" "$ROOT/proc" "$ROOT/dev"
  fi
  # Private namespaces: the mounts exist only for this run (nothing to clean up, no clash between
  # checkouts testing at once), and a user namespace lets a non-root user mount and chroot.
  local ns=(--mount)
  [[ $(id -u) -eq 0 ]] || ns=(--user --map-root-user "${ns[@]}")
  if ! unshare "${ns[@]}" true 2>/tmp/meshpose-unshare.$$; then
    echo "error: cannot create private namespaces for the Swift root ($(tr '\n' ' ' < /tmp/meshpose-unshare.$$)); as a non-root user this needs unprivileged user namespaces (sysctl user.max_user_namespaces > 0); or run make test as root" >&2
    rm -f /tmp/meshpose-unshare.$$
    exit 1
  fi
  rm -f /tmp/meshpose-unshare.$$
  # The build folder lives in the checkout, so two checkouts never share (or corrupt) one.
  unshare "${ns[@]}" /bin/bash -c '
    set -e
    mount --bind "$1" "$2/repo"
    mount --rbind /proc "$2/proc"
    mount --rbind /dev "$2/dev"
    exec chroot "$2" /usr/bin/env -i HOME=/tmp PATH=/usr/libexec/swift/bin:/usr/bin:/bin /bin/bash -c \
      "cd /repo/$3 && swift test --disable-swift-testing --scratch-path /repo/build/swift-scratch 2>&1"' \
    swift-root "$REPO" "$ROOT" "$pkg"
}

case "${1:-}" in
  setup) setup ;;
  test) run_test "${2:?package dir relative to the repo}" ;;
  *) echo "usage: $0 setup | test <package dir>" >&2; exit 2 ;;
esac
