#!/usr/bin/env bash
# Builds the control-plane binaries KIS's integration and e2e tests start
# (kube-apiserver, kube-controller-manager, kubectl, etcd, kwok) from the Go module
# proxy, into a cache outside the repository keyed by version, and prints the
# directory. A binary already in the cache is reused; a cold build of all
# five takes ~30 minutes on 2 cores.
#
#   hack/build-control-plane.sh [component...]   (default: all)
#   KIS_CACHE_DIR   cache root (default: $XDG_CACHE_HOME/kis or ~/.cache/kis)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:/usr/local/go/bin"
KUBE_VERSION=v1.37.2
ETCD_VERSION=v3.7.3
KWOK_VERSION=v0.8.0
CACHE=${KIS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kis}
BIN=$CACHE/bin

build() { # build <name> <version> <tool module dir> <package>
  local name=$1 version=$2 module=$3 pkg=$4
  local out=$BIN/$name-$version
  if [[ -x $out ]]; then
    return
  fi
  echo "building $name $version (cached afterwards in $BIN)" >&2
  mkdir -p "$BIN"
  # Build to a temporary name and rename, so an interrupted build never
  # leaves a truncated binary that a later run would trust.
  (cd "$ROOT/hack/tools/$module" && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version" \
      -o "$out.tmp.$$" "$pkg")
  mv "$out.tmp.$$" "$out"
}

components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=(etcd kube-apiserver kube-controller-manager kubectl kwok)
for c in "${components[@]}"; do
  case $c in
    etcd) build etcd "$ETCD_VERSION" etcd go.etcd.io/etcd/server/v3 ;;
    kube-apiserver) build kube-apiserver "$KUBE_VERSION" kube k8s.io/kubernetes/cmd/kube-apiserver ;;
    kube-controller-manager) build kube-controller-manager "$KUBE_VERSION" kube k8s.io/kubernetes/cmd/kube-controller-manager ;;
    kubectl) build kubectl "$KUBE_VERSION" kube k8s.io/kubernetes/cmd/kubectl ;;
    kwok)
      build kwok "$KWOK_VERSION" kwok sigs.k8s.io/kwok/cmd/kwok
      # KWOK does nothing without Stages: the ones its module ships for fast
      # node initialisation, heartbeats and the pod lifecycle, in one file.
      stages=$BIN/kwok-$KWOK_VERSION-stages.yaml
      if [[ ! -s $stages ]]; then
        dir=$(cd "$ROOT/hack/tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
        for f in "$dir"/node/fast/node-initialize.yaml "$dir"/node/heartbeat/node-heartbeat.yaml "$dir"/pod/fast/pod-*.yaml; do
          echo "---"; cat "$f"
        done > "$stages.tmp.$$"
        mv "$stages.tmp.$$" "$stages"
      fi ;;
    *) echo "unknown component $c (known: etcd kube-apiserver kube-controller-manager kubectl kwok)" >&2; exit 2 ;;
  esac
done
echo "$BIN"
