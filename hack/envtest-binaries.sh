#!/usr/bin/env bash
# envtest-binaries.sh builds the control-plane binaries envtest needs
# (kube-apiserver and etcd) from the Go module proxy, caches them outside the
# clone, and prints the absolute bin directory on stdout, so that
#
#   KUBEBUILDER_ASSETS="$(hack/envtest-binaries.sh)"
#
# works. Everything else (progress, go tool output) goes to stderr.
#
# Cache layout:
#   ${WVA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wva}/k8s/<KUBE_VERSION>-etcd<ETCD_VERSION>/bin/{kube-apiserver,etcd}
# e.g. ~/.cache/wva/k8s/v1.37.2-etcdv3.6.16/bin
#
# If both binaries are cached and answer --version, the script does nothing.
# Binaries are built into a temporary directory next to the cache and moved
# into place with one rename, so an interrupted build never leaves a partial
# bin directory behind.
#
# The default versions must match internal/testutil/versions.go (a test checks).
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"

# Keep stdout for the final path only; everything else goes to stderr.
exec 3>&1 1>&2

start=${SECONDS}
log() { printf '[envtest-binaries %4ds] %s\n' "$((SECONDS - start))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ "${KUBE_VERSION}" =~ ^v1\.([0-9]+)\.([0-9]+)(-.*)?$ ]] || die "KUBE_VERSION must look like v1.N.M, got ${KUBE_VERSION}"
KUBE_MINOR="${BASH_REMATCH[1]}"
# Staging modules (k8s.io/api, k8s.io/apiserver, ...) are published as v0.N.M for Kubernetes v1.N.M.
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"
[[ "${ETCD_VERSION}" =~ ^v3\. ]] || die "ETCD_VERSION must look like v3.N.M, got ${ETCD_VERSION}"

cache_root="${WVA_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/wva}"
[[ "${cache_root}" == /* ]] || cache_root="${PWD}/${cache_root}"
dest="${cache_root}/k8s/${KUBE_VERSION}-etcd${ETCD_VERSION}"
bindir="${dest}/bin"

# cached_ok succeeds if both binaries exist and run; kube-apiserver must
# also report the expected version.
cached_ok() {
  local v
  [[ -x "${bindir}/kube-apiserver" && -x "${bindir}/etcd" ]] || return 1
  v="$("${bindir}/kube-apiserver" --version 2>/dev/null)" || return 1
  [[ "${v}" == "Kubernetes ${KUBE_VERSION}" ]] || return 1
  "${bindir}/etcd" --version >/dev/null 2>&1 || return 1
}

if cached_ok; then
  log "cached: ${bindir}"
  echo "${bindir}" >&3
  exit 0
fi

command -v go >/dev/null || die "go is not on PATH"

mkdir -p "${dest}"
# Serialize concurrent runs (parallel make targets, several test packages).
if command -v flock >/dev/null; then
  exec 9>"${dest}/.lock"
  if ! flock -n 9; then
    log "waiting for another run holding ${dest}/.lock"
    flock 9
  fi
  if cached_ok; then
    log "built by a concurrent run: ${bindir}"
    echo "${bindir}" >&3
    exit 0
  fi
  # Holding the lock, so leftovers of killed runs are nobody's work in progress.
  rm -rf "${dest}"/.build.*
fi

log "building kube-apiserver ${KUBE_VERSION} (staging modules ${STAGING_VERSION}) and etcd ${ETCD_VERSION} into ${bindir}"

# Work in a temp dir on the same filesystem as the cache so the final mv is a rename.
work="$(mktemp -d "${dest}/.build.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "${work}/bin"

# The throwaway modules must not pick up a go.work or the caller's GOFLAGS
# (-mod=vendor, -race, tags...). -buildvcs=false: the temp dir is no VCS checkout.
export GOWORK=off
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0

# --- kube-apiserver ---------------------------------------------------------
# k8s.io/kubernetes points its staging modules at ./staging/src/..., which a
# dependent module cannot use: replace every one of them with the published
# v0.N.M release. The list comes from the module's own go.mod.
log "step: download k8s.io/kubernetes@${KUBE_VERSION}"
kube_gomod="$(cd "${work}" && go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" |
  sed -n 's/^[[:space:]]*"GoMod":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')"
[[ -n "${kube_gomod}" && -f "${kube_gomod}" ]] || die "could not locate the go.mod of k8s.io/kubernetes@${KUBE_VERSION}"

# Both forms: inside a replace ( ... ) block and single-line "replace a => b".
mapfile -t staging < <(awk '
  $1 == "replace" && $2 != "(" { $1 = "" ; $0 = $0 }
  $2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }
' "${kube_gomod}" | sort -u)
((${#staging[@]} > 0)) || die "found no ./staging replacements in ${kube_gomod}"
printf '%s\n' "${staging[@]}" | grep -qx 'k8s.io/api' || die "staging list from ${kube_gomod} does not contain k8s.io/api"
log "step: ${#staging[@]} staging modules -> ${STAGING_VERSION}"

apiserver_mod="${work}/kube-apiserver"
mkdir -p "${apiserver_mod}"
(
  cd "${apiserver_mod}"
  go mod init wva.local/envtest-binaries/kube-apiserver 2>/dev/null
  args=("-require=k8s.io/kubernetes@${KUBE_VERSION}")
  for m in "${staging[@]}"; do
    args+=("-replace=${m}=${m}@${STAGING_VERSION}")
  done
  go mod edit "${args[@]}"
  cat >main.go <<'EOF'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
EOF
)

# etcd gets its own module: k8s.io/kubernetes requires a newer
# go.etcd.io/etcd/server/v3 (v3.7.x for Kubernetes 1.37), so a shared module
# would silently build that version instead of ETCD_VERSION.
etcd_mod="${work}/etcd"
mkdir -p "${etcd_mod}"
(
  cd "${etcd_mod}"
  go mod init wva.local/envtest-binaries/etcd 2>/dev/null
  go mod edit "-require=go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
  cat >main.go <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
EOF
)

log "step: resolve modules (go mod tidy)"
(cd "${apiserver_mod}" && go mod tidy)
(cd "${etcd_mod}" && go mod tidy)

build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X ${pkg}.gitVersion=${KUBE_VERSION}"
  kube_ldflags+=" -X ${pkg}.gitMajor=1"
  kube_ldflags+=" -X ${pkg}.gitMinor=${KUBE_MINOR}"
  kube_ldflags+=" -X ${pkg}.gitTreeState=clean"
  kube_ldflags+=" -X ${pkg}.buildDate=${build_date}"
done

log "step: build etcd"
(cd "${etcd_mod}" && go build -trimpath -ldflags "-s -w" -o "${work}/bin/etcd" .)
log "step: build kube-apiserver (the slow one: minutes when cold)"
(cd "${apiserver_mod}" && go build -trimpath -ldflags "${kube_ldflags}" -o "${work}/bin/kube-apiserver" .)

log "step: verify"
got="$("${work}/bin/kube-apiserver" --version)"
[[ "${got}" == "Kubernetes ${KUBE_VERSION}" ]] || die "kube-apiserver --version printed '${got}', want 'Kubernetes ${KUBE_VERSION}'"
etcd_got="$("${work}/bin/etcd" --version)"
etcd_got="${etcd_got%%$'\n'*}"
[[ "${etcd_got}" == "etcd Version: ${ETCD_VERSION#v}" ]] || die "etcd --version printed '${etcd_got}', want 'etcd Version: ${ETCD_VERSION#v}'"

# Swap the whole bin directory in with a rename.
rm -rf "${bindir}"
mv "${work}/bin" "${bindir}"
log "done: ${bindir}"
echo "${bindir}" >&3
