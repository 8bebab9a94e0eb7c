#!/usr/bin/env bash
# apt-install.sh COMMAND=PACKAGE... installs, from the Debian archive, the package of every
# COMMAND that is not on PATH, in one apt-get run. Idempotent: silent and a no-op when every
# command is there. Used by install-prometheus.sh (prometheus, promtool) and make e2e (ip, from
# iproute2: the local cluster's network namespace), so that a bare machine needs no manual step.
#
# Services the packages ship are not started: while installing, a policy-rc.d that denies
# service starts is put in place if none exists.
set -euo pipefail

pkgs=()
for pair in "$@"; do
  cmd="${pair%%=*}" pkg="${pair#*=}"
  if ! command -v "${cmd}" >/dev/null 2>&1 && [[ ! -x "/usr/sbin/${cmd}" && ! -x "/sbin/${cmd}" ]]; then
    [[ " ${pkgs[*]-} " == *" ${pkg} "* ]] || pkgs+=("${pkg}")
  fi
done
[[ ${#pkgs[@]} -eq 0 ]] && exit 0

command -v apt-get >/dev/null 2>&1 || {
  echo "apt-install: apt-get not found; install ${pkgs[*]} so that $* are on PATH" >&2
  exit 1
}

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "apt-install: need root (or sudo) to run apt-get for ${pkgs[*]}" >&2
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

echo "apt-install: installing the Debian packages ${pkgs[*]}" >&2
"${SUDO[@]}" apt-get update -qq >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
