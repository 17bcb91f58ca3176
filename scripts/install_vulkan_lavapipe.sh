#!/usr/bin/env bash
# Installs Mesa's software Vulkan device (lavapipe) from bookworm-backports: the LiteRT GPU
# accelerator runs on it here (Mesa 25.x works; bookworm's stock 22.x does not, docs/DESIGN.md §8).
# Idempotent: a fast no-op when a new enough lavapipe is already installed.
set -euo pipefail
have=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if [[ -n "$have" ]] && dpkg --compare-versions "$have" ge 25; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "error: installing mesa-vulkan-drivers (>= 25, bookworm-backports) needs root; run: sudo $0" >&2
  exit 1
fi
echo ">> installing Mesa lavapipe (software Vulkan) from bookworm-backports"
if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat > /etc/apt/sources.list.d/meshpose-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports --no-install-recommends \
  mesa-vulkan-drivers libvulkan1 >/dev/null
echo ">> installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
