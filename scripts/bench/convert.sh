#!/usr/bin/env bash
# Converting a Keras model to ONNX: `graft convert` vs tf2onnx `from_keras`, side by side in one
# run (wall time and peak RSS of each process, via /usr/bin/time -v).
#   scripts/bench/convert.sh [MODEL.h5] [-- extra convert.py options, e.g. --rounds 5]
# Default model: the Keras 3 ResNet50 .h5 test fixture (generated if missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bash scripts/setup.sh --python
model="${1:-}"
[ "$#" -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
if [ -z "$model" ]; then
    bash scripts/fixtures/generate.sh --applications
    model=tests/fixtures/generated/keras/keras3/resnet50/model.h5
fi
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
cargo build --release --locked -q -p graft-cli
target="${CARGO_TARGET_DIR:-$root/target}"
TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python scripts/bench/convert.py --graft "$target/release/graft" "$model" "$@" \
    2> >(grep -Ev 'cudart_stub|absl::InitializeLog|cpu_feature_guard|rebuild TensorFlow|AVX2 FMA' >&2)
