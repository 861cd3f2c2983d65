#!/usr/bin/env bash
# graft-data augmentation benchmark against tf_keras ImageDataGenerator, side by side in one run.
#   bash scripts/bench/augment.sh [--rounds N] [--images N] [--keras-batches N] [--graft-batches N]
# Builds the release bench binary of crates/graft-data (benches/augment.rs) and runs
# scripts/bench/augment.py with the pinned virtualenv (.venv, created by scripts/setup.sh --python).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cd "$root"
[ -x .venv/bin/python ] || bash scripts/setup.sh --python
cargo build --release --manifest-path crates/graft-data/Cargo.toml --bench augment >&2
binary="$(cargo bench --no-run --manifest-path crates/graft-data/Cargo.toml --bench augment \
    --message-format=json 2>/dev/null \
    | .venv/bin/python -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "augment" and m.get("executable"):
        print(m["executable"])' | tail -1)"
echo "bench binary: $binary" >&2
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
exec .venv/bin/python scripts/bench/augment.py "$binary" "$@"
