#!/usr/bin/env bash
# Installs Prometheus (Debian package `prometheus`, 2.42 on bookworm) for the
# integration and e2e tests, which start it themselves on loopback with a
# temporary config. The package's own service is not used (there is no
# init system in CI containers), so nothing else is started.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1; then
  exit 0
fi
SUDO=
if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
fi
echo "installing prometheus (Debian package)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v prometheus >/dev/null
