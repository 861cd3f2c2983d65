#!/usr/bin/env bash
# Installs what graft needs on a fresh Debian machine, skipping what is already there:
#   - system packages: libhdf5-dev and pkg-config (the Keras reader links the system libhdf5);
#   - with --python: a virtualenv in .venv with the pinned tools of scripts/requirements.txt
#     (Keras, TensorFlow, onnxruntime...) that the tests compare graft against, and the ONNX
#     exporters of scripts/requirements-onnx.txt (tf2onnx, torch, torchvision).
# Sourced or run by scripts/demo.sh and scripts/test.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_python=0
for arg in "$@"; do
    case "$arg" in
        --python) want_python=1 ;;
        *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# --- system packages -------------------------------------------------------------------------
missing=()
pkg-config --exists hdf5 2>/dev/null || missing+=(libhdf5-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing system packages: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup.sh: cargo not found; install Rust from https://rustup.rs" >&2
    exit 1
fi

# --- Python tools ----------------------------------------------------------------------------
if [ "$want_python" = 1 ]; then
    venv="$root/.venv"
    stamp="$venv/.requirements.sha256"
    want="$(cat "$root/scripts/requirements.txt" "$root/scripts/requirements-onnx.txt" | sha256sum | cut -d' ' -f1)"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "creating the Python virtualenv in .venv (Keras, TensorFlow, onnxruntime; a few minutes)"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --upgrade pip
        "$venv/bin/pip" install -q -r "$root/scripts/requirements.txt"
        # The ONNX exporters (tf2onnx, torch, torchvision): --no-deps, see the file's header.
        "$venv/bin/pip" install -q --no-deps -r "$root/scripts/requirements-onnx.txt"
        echo "$want" > "$stamp"
    fi
fi
