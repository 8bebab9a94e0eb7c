#!/usr/bin/env bash
# install-prometheus.sh installs the Prometheus server binary (/usr/bin/prometheus)
# from the Debian archive, for tests that start their own Prometheus
# (internal/testutil.StartPrometheus). Idempotent: silent and a no-op when
# prometheus is already on PATH.
#
# The package's own service is not needed: tests start private instances on
# free ports with temporary config and storage. While installing, a
# policy-rc.d that denies service starts is put in place if none exists.
set -euo pipefail

# The package also ships promtool, which the alert-rule tests run.
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || {
  echo "install-prometheus: apt-get not found; install Prometheus (2.x) so that 'prometheus' is on PATH" >&2
  exit 1
}

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "install-prometheus: need root (or sudo) to run apt-get" >&2
    exit 1
  }
  SUDO=(sudo)
fi

policy=/usr/sbin/policy-rc.d
if [[ ! -e "${policy}" ]]; then
  # Deny service (re)starts during the install, remove the guard afterwards.
  trap '"${SUDO[@]}" rm -f "${policy}"' EXIT
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "${policy}" >/dev/null
  "${SUDO[@]}" chmod 0755 "${policy}"
fi

echo "install-prometheus: installing the Debian 'prometheus' package" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >&2

command -v prometheus >/dev/null 2>&1 || {
  echo "install-prometheus: the package installed but 'prometheus' is still not on PATH" >&2
  exit 1
}
echo "install-prometheus: $(prometheus --version 2>&1 | head -n1)" >&2
