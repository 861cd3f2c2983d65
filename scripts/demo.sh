#!/usr/bin/env bash
# The main job on an embedded default: installs what is missing (system packages; no Python
# needed), builds graft in release mode and runs `graft demo`.
#
#   scripts/demo.sh [graft demo options, e.g. --out DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
echo "[demo] building graft (release; the first build takes a while)" >&2
cargo build --release --locked -q -p graft-cli
target="${CARGO_TARGET_DIR:-$root/target}"
exec "$target/release/graft" demo "$@"
