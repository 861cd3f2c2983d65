#!/usr/bin/env bash
# Training: graft vs Keras `fit` (frozen base + head, with graft's feature caching) and vs Keras
# and PyTorch (full fine-tuning with augmentation), side by side in one run.
#   scripts/bench/train.sh [--models mobilenetv2,resnet50] [--epochs 10] [--images 512] [--steps 4]
# See scripts/bench/train.py for what is timed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bash scripts/setup.sh --python
cargo build --release --locked -q -p graft --example bench_train
target="${CARGO_TARGET_DIR:-$root/target}"
TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python scripts/bench/train.py --graft "$target/release/examples/bench_train" "$@" \
    2> >(grep -Ev 'cudart_stub|absl::InitializeLog|cpu_feature_guard|rebuild TensorFlow|AVX2 FMA|oneDNN' >&2)
