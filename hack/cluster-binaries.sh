#!/usr/bin/env bash
# cluster-binaries.sh builds the binaries of the local cluster (hack/local-cluster) that
# hack/envtest-binaries.sh does not: kube-controller-manager and kube-scheduler (from
# k8s.io/kubernetes, same minor as the client libraries), kwok, and the KEDA operator and its
# metrics API server. It caches them outside the clone, keyed by version, and prints one absolute
# bin directory on stdout holding all of them plus kube-apiserver and etcd (symlinks):
#
#   BIN="$(hack/cluster-binaries.sh)"
#
# Cache layout (root: ${WVA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wva}):
#   k8s/<KUBE_VERSION>-etcd<ETCD_VERSION>/bin/{kube-apiserver,etcd}         (envtest-binaries.sh)
#   k8s/<KUBE_VERSION>-controllers/bin/{kube-controller-manager,kube-scheduler}
#   kwok/<KWOK_VERSION>/bin/kwok
#   keda/<KEDA_VERSION>/bin/{keda-operator,keda-adapter}
#   cluster/<KUBE_VERSION>-etcd<ETCD_VERSION>-kwok<KWOK_VERSION>-keda<KEDA_VERSION>/bin  (symlinks; printed)
#
# Each component is built in a temporary directory next to its cache entry and moved in with one
# rename, under a lock, so concurrent or interrupted runs never leave a partial bin directory.
# Every binary is version-stamped and checked after the build.
#
# WITHOUT_KEDA=1 skips KEDA (the slowest build; the e2e tests that need it then fail or skip).
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
KEDA_VERSION="${KEDA_VERSION:-v2.21.0}"
WITHOUT_KEDA="${WITHOUT_KEDA:-0}"

exec 3>&1 1>&2
here="$(cd "$(dirname "$0")" && pwd)"
start=${SECONDS}
log() { printf '[cluster-binaries %4ds] %s\n' "$((SECONDS - start))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ "${KUBE_VERSION}" =~ ^v1\.([0-9]+)\.([0-9]+)(-.*)?$ ]] || die "KUBE_VERSION must look like v1.N.M, got ${KUBE_VERSION}"
KUBE_MINOR="${BASH_REMATCH[1]}"
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"
[[ "${KWOK_VERSION}" =~ ^v0\.[0-9]+\.[0-9]+$ ]] || die "KWOK_VERSION must look like v0.N.M, got ${KWOK_VERSION}"
[[ "${KEDA_VERSION}" =~ ^v2\.[0-9]+\.[0-9]+$ ]] || die "KEDA_VERSION must look like v2.N.M, got ${KEDA_VERSION}"
command -v go >/dev/null || die "go is not on PATH"

cache_root="${WVA_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/wva}"
[[ "${cache_root}" == /* ]] || cache_root="${PWD}/${cache_root}"

export GOWORK=off
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0

# kube-apiserver and etcd come from the envtest script (its own cache and lock).
envtest_bin="$(KUBE_VERSION="${KUBE_VERSION}" ETCD_VERSION="${ETCD_VERSION}" "${here}/envtest-binaries.sh")"

# build_component DEST CHECK_FN BUILD_FN: runs BUILD_FN (which fills $work/bin) unless CHECK_FN
# accepts DEST/bin; serialised by DEST/.lock.
build_component() {
  local dest="$1" check="$2" build="$3"
  if "${check}" "${dest}/bin"; then
    log "cached: ${dest}/bin"
    return 0
  fi
  mkdir -p "${dest}"
  exec 9>"${dest}/.lock"
  if ! flock -n 9; then
    log "waiting for another run holding ${dest}/.lock"
    flock 9
  fi
  if "${check}" "${dest}/bin"; then
    exec 9>&-
    log "built by a concurrent run: ${dest}/bin"
    return 0
  fi
  rm -rf "${dest}"/.build.*
  work="$(mktemp -d "${dest}/.build.XXXXXX")"
  mkdir -p "${work}/bin"
  local t0=${SECONDS}
  "${build}"
  "${check}" "${work}/bin" || die "the fresh build in ${work}/bin does not pass its version check"
  rm -rf "${dest}/bin"
  mv "${work}/bin" "${dest}/bin"
  rm -rf "${work}"
  exec 9>&-
  log "built ${dest}/bin in $((SECONDS - t0))s"
}
trap '[[ -n "${work:-}" ]] && rm -rf "${work}"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# --- kube-controller-manager and kube-scheduler ----------------------------------------------
kube_dest="${cache_root}/k8s/${KUBE_VERSION}-controllers"
kube_check() {
  local b="$1" v
  for c in kube-controller-manager kube-scheduler; do
    [[ -x "${b}/${c}" ]] || return 1
    v="$("${b}/${c}" --version 2>/dev/null)" || return 1
    [[ "${v}" == "Kubernetes ${KUBE_VERSION}" ]] || return 1
  done
}
kube_build() {
  log "building kube-controller-manager and kube-scheduler ${KUBE_VERSION} (staging modules ${STAGING_VERSION})"
  local gomod staging m args ldflags pkg
  gomod="$(cd "${work}" && go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" |
    sed -n 's/^[[:space:]]*"GoMod":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "${gomod}" && -f "${gomod}" ]] || die "could not locate the go.mod of k8s.io/kubernetes@${KUBE_VERSION}"
  # k8s.io/kubernetes points its staging modules at ./staging; replace each with its release.
  mapfile -t staging < <(awk '
    $1 == "replace" && $2 != "(" { $1 = "" ; $0 = $0 }
    $2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }
  ' "${gomod}" | sort -u)
  ((${#staging[@]} > 0)) || die "found no ./staging replacements in ${gomod}"
  mkdir -p "${work}/mod/kube-controller-manager" "${work}/mod/kube-scheduler"
  (
    cd "${work}/mod"
    go mod init wva.local/cluster-binaries/kube 2>/dev/null
    args=("-require=k8s.io/kubernetes@${KUBE_VERSION}")
    for m in "${staging[@]}"; do args+=("-replace=${m}=${m}@${STAGING_VERSION}"); done
    go mod edit "${args[@]}"
    for c in controller-manager scheduler; do
      new="NewControllerManagerCommand"
      [[ "${c}" == scheduler ]] && new="NewSchedulerCommand"
      cat >"kube-${c}/main.go" <<EOF
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-${c}/app"
)

func main() {
	os.Exit(cli.Run(app.${new}()))
}
EOF
    done
    log "step: go mod tidy"
    go mod tidy
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${KUBE_MINOR}"
      ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=${build_date}"
    done
    log "step: go build (one invocation, shared compile)"
    go build -trimpath -ldflags "${ldflags}" -o "${work}/bin/" ./kube-controller-manager ./kube-scheduler
  )
}
build_component "${kube_dest}" kube_check kube_build

# --- kwok --------------------------------------------------------------------------------------
# Built inside a copy of its own module, so its go.mod and go.sum apply as released.
kwok_dest="${cache_root}/kwok/${KWOK_VERSION}"
kwok_check() {
  [[ -x "$1/kwok" ]] || return 1
  "$1/kwok" --version 2>/dev/null | grep -q "${KWOK_VERSION#v}"
}
module_copy() { # module@version -> prints a writable copy's path
  local dir
  dir="$(cd "${work}" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "${dir}" && -d "${dir}" ]] || die "could not download $1"
  cp -r "${dir}" "${work}/src"
  chmod -R u+w "${work}/src"
  echo "${work}/src"
}
kwok_build() {
  log "building kwok ${KWOK_VERSION}"
  local src
  src="$(module_copy "sigs.k8s.io/kwok@${KWOK_VERSION}")"
  (cd "${src}" && go build -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBE_VERSION#v}" \
    -o "${work}/bin/kwok" ./cmd/kwok)
}
build_component "${kwok_dest}" kwok_check kwok_build

# --- KEDA ----------------------------------------------------------------------------------------
keda_dest="${cache_root}/keda/${KEDA_VERSION}"
keda_check() {
  local b="$1"
  [[ -x "${b}/keda-operator" && -x "${b}/keda-adapter" && -f "${b}/VERSION" ]] || return 1
  [[ "$(cat "${b}/VERSION")" == "${KEDA_VERSION}" ]] || return 1
  [[ -d "${b}/crd" ]] || return 1
}
keda_build() {
  log "building KEDA ${KEDA_VERSION} operator and metrics API server (the slowest: many scaler SDKs)"
  local src
  src="$(module_copy "github.com/kedacore/keda/v2@${KEDA_VERSION}")"
  (cd "${src}" && go build -trimpath \
    -ldflags "-s -w -X github.com/kedacore/keda/v2/version.Version=${KEDA_VERSION#v} -X github.com/kedacore/keda/v2/version.GitCommit=release" \
    -o "${work}/bin/" ./cmd/operator ./cmd/adapter)
  mv "${work}/bin/operator" "${work}/bin/keda-operator"
  mv "${work}/bin/adapter" "${work}/bin/keda-adapter"
  # The CRDs ship with the module; the local cluster applies them.
  mkdir -p "${work}/bin/crd"
  cp "${src}"/config/crd/bases/*.yaml "${work}/bin/crd/"
  echo "${KEDA_VERSION}" >"${work}/bin/VERSION"
}
if [[ "${WITHOUT_KEDA}" != 1 ]]; then
  build_component "${keda_dest}" keda_check keda_build
fi

# --- one directory with everything -----------------------------------------------------------------
out="${cache_root}/cluster/${KUBE_VERSION}-etcd${ETCD_VERSION}-kwok${KWOK_VERSION}-keda${KEDA_VERSION}/bin"
mkdir -p "${out}"
ln -sfn "${envtest_bin}/kube-apiserver" "${out}/kube-apiserver"
ln -sfn "${envtest_bin}/etcd" "${out}/etcd"
ln -sfn "${kube_dest}/bin/kube-controller-manager" "${out}/kube-controller-manager"
ln -sfn "${kube_dest}/bin/kube-scheduler" "${out}/kube-scheduler"
ln -sfn "${kwok_dest}/bin/kwok" "${out}/kwok"
if [[ "${WITHOUT_KEDA}" != 1 ]]; then
  ln -sfn "${keda_dest}/bin/keda-operator" "${out}/keda-operator"
  ln -sfn "${keda_dest}/bin/keda-adapter" "${out}/keda-adapter"
  ln -sfn "${keda_dest}/bin/crd" "${out}/keda-crd"
fi
cat >"${out}/versions.env" <<EOF
KUBE_VERSION=${KUBE_VERSION}
ETCD_VERSION=${ETCD_VERSION}
KWOK_VERSION=${KWOK_VERSION}
KEDA_VERSION=${KEDA_VERSION}
EOF
log "done: ${out}"
echo "${out}" >&3
