# Docker without a registry, for the container test and bench/image.sh; sourced.
# shellcheck shell=bash
# shellcheck disable=SC2034  # DOCKER, NO_DOCKER, LOCAL_BASE, NO_BASE are for the sourcing script

# docker_engine: sets DOCKER to a client whose engine answers, starting Debian's dockerd
# when none runs. Returns 1 with the reason in NO_DOCKER when there cannot be one here.
docker_engine() {
  NO_DOCKER=""
  [ "$(id -u)" -eq 0 ] || { NO_DOCKER="it starts dockerd, which needs root"; return 1; }
  command -v dockerd >/dev/null 2>&1 || { NO_DOCKER="no Docker engine (apt-get install docker.io)"; return 1; }
  # Debian's client matches Debian's engine.
  DOCKER=/usr/bin/docker
  [ -x "$DOCKER" ] || DOCKER=docker
  if ! "$DOCKER" info >/dev/null 2>&1; then
    step "starting dockerd"
    (dockerd >/tmp/k8s-inference-sim-dockerd.log 2>&1 &)
    for _ in $(seq 60); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.5; done
    "$DOCKER" info >/dev/null 2>&1 || { NO_DOCKER="dockerd does not start on this machine (see /tmp/k8s-inference-sim-dockerd.log)"; return 1; }
  fi
}

# local_base PACKAGES WORK: a minimal bookworm with PACKAGES (comma-separated), made with
# debootstrap and docker import (no registry needed), once per package list. Sets
# LOCAL_BASE to its tag; returns 1 with the reason in NO_BASE when Debian's mirror cannot be reached.
local_base() {
  local packages=$1 work=$2 tag rootfs
  tag=local/debian:bookworm-$(printf %s "$packages" | md5sum | cut -c1-8)
  rootfs=$work/rootfs-${tag##*-}
  NO_BASE=""
  if ! "$DOCKER" image inspect "$tag" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null 2>&1 || { NO_BASE="no debootstrap (apt-get install debootstrap)"; return 1; }
    if [ ! -x "$rootfs/bin/sh" ]; then
      step "debootstrap of a minimal bookworm with $packages"
      rm -rf "$rootfs"
      mkdir -p "$work"
      debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
        || { NO_BASE="debootstrap could not fetch bookworm from deb.debian.org (see $work/debootstrap.log)"; return 1; }
    fi
    step "importing it as $tag"
    tar -C "$rootfs" -c . | "$DOCKER" import - "$tag" >/dev/null
  fi
  LOCAL_BASE=$tag
}

# static_infer_sim OUT: the static release multi-call binary, stripped, with a link per
# tool, in OUT (the layout the Dockerfile's builder stage makes in /out).
static_infer_sim() {
  local out=$1 bin_dir
  step "static release build of infer-sim (the four tools in one binary)"
  swift build -c release --static-swift-stdlib --scratch-path .build-static --product infer-sim
  bin_dir=$(swift build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)
  rm -rf "$out" && mkdir -p "$out"
  install -m 0755 "$bin_dir/infer-sim" "$out/infer-sim"
  strip "$out/infer-sim"
  for tool in infer-serve infer-load infer-stats kube-wait; do ln -s infer-sim "$out/$tool"; done
}
