#!/usr/bin/env bash
# install-prometheus.sh installs the Prometheus server binary (/usr/bin/prometheus) and
# promtool from the Debian archive, for tests that start their own Prometheus
# (internal/testutil.StartPrometheus) and the alert-rule tests. Idempotent: silent and a no-op
# when both are on PATH. The package's own service is not needed (and not started): tests start
# private instances on free ports with temporary config and storage.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi
"$(dirname "$0")/apt-install.sh" prometheus=prometheus promtool=prometheus
command -v prometheus >/dev/null 2>&1 || {
  echo "install-prometheus: the package installed but 'prometheus' is still not on PATH" >&2
  exit 1
}
echo "install-prometheus: $(prometheus --version 2>&1 | head -n1)" >&2
