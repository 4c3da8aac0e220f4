#!/usr/bin/env bash
# Installs and starts what cdebug-tui and its tests need on a Debian machine: a Docker engine,
# a static busybox (the offline toolkit), the tools the tests build images with (node and
# strace among them), and Podman (the tests start their own `podman system service` and a
# second dockerd), and python3-venv for the Makefile's virtual environment.
# Idempotent: it installs only what is missing and starts dockerd only when none answers.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
command -v patchelf >/dev/null 2>&1 || missing+=(patchelf)
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v rsvg-convert >/dev/null 2>&1 || missing+=(librsvg2-bin)
# The process-details tests: a node target (its binary copied into a shell-less image) and
# strace in the dynamic toolkit.
command -v strace >/dev/null 2>&1 || missing+=(strace)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
# The several-engines tests: Podman's Docker-compatible API (podman system service), and
# `ip` for the second dockerd's own bridge.
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v newuidmap >/dev/null 2>&1 || missing+=(uidmap)
# The static tini cdebug-tui lends to Podman's sidecars (Podman lends none); docker.io
# depends on it too.
[ -x /usr/bin/tini-static ] || missing+=(tini)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
# The Makefile's virtual environment: Debian splits venv (and ensurepip) out of python3, and
# its python3 refuses `pip install` outside a venv (PEP 668). PY: the Python the Makefile uses.
"${PY:-python3}" -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-engine: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    echo "setup-engine: starting dockerd"
    $SUDO sh -c 'nohup setsid dockerd >/var/log/cdebug-dockerd.log 2>&1 &'
    for _ in $(seq 1 120); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    if ! docker info >/dev/null 2>&1; then
        echo "setup-engine: dockerd did not come up; its log:" >&2
        tail -20 /var/log/cdebug-dockerd.log >&2 || true
        exit 1
    fi
fi
echo "setup-engine: engine $(docker version --format '{{.Server.Version}}') answers"
