#!/usr/bin/env bash
# Loading a Keras model: graft vs keras.models.load_model, side by side in one run.
#   scripts/bench/load.sh [MODEL.h5 ...]
# Default model: the Keras 3 ResNet50 .h5 test fixture (generated if missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bash scripts/setup.sh --python
models=("$@")
if [ "${#models[@]}" = 0 ]; then
    bash scripts/fixtures/generate.sh --applications
    models=(tests/fixtures/generated/keras/keras3/resnet50/model.h5)
fi
cargo build --release --locked -q -p graft --example bench_load
target="${CARGO_TARGET_DIR:-$root/target}"
TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python scripts/bench/load.py --graft "$target/release/examples/bench_load" "${models[@]}" 2> >(grep -Ev 'cudart_stub|absl::InitializeLog|cpu_feature_guard|rebuild TensorFlow|AVX2 FMA' >&2)
