#!/usr/bin/env bash
# Download-and-train, unattended: fetch ImageNet-pretrained MobileNetV2 weights and TensorFlow's
# flower_photos dataset (5 classes, 3670 photos) through graft's verified cache, fine-tune a new
# head on them, export ONNX and .keras, write an HTML report, and classify a few images.
#
#   scripts/finetune_flowers.sh [OUT_DIR]          (default OUT_DIR: flowers-run)
#
# Every input is a variable, so the same script trains on other data or weights:
#   GRAFT         the graft binary (default: graft on PATH, else target/release/graft)
#   WEIGHTS       a registry name (see `graft applications`) or an http(s) URL of a weights file
#   WEIGHTS_HASH  its md5 or sha256 (a registry entry's published hash is always checked)
#   DATA_URL      a .tgz/.tar/.zip of one folder per class
#   DATA_HASH     its md5 or sha256 (TensorFlow publishes none for flower_photos.tgz; set one to pin it)
#   DATA_SUBDIR   the folder inside the archive that holds the class folders (default flower_photos)
#   ARCH ALPHA IMAGE_SIZE   the keras.applications architecture the weights belong to
#   PREPROCESS    what `graft predict` applies (finetune takes the architecture's own; tf for MobileNetV2)
#   EPOCHS FINE_TUNE_TOP FINE_TUNE_EPOCHS BATCH_SIZE SEED   training
#
# Downloads land in $GRAFT_HOME (default ~/.cache/graft): weights in models/, the dataset in
# datasets/ (extracted to datasets/<name>_extracted, as keras.utils.get_file(extract=True)).
# Files already in Keras' cache (~/.keras) are reused. Once they are cached, GRAFT_OFFLINE=1 runs
# the whole script without a network.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

out="${1:-flowers-run}"
GRAFT="${GRAFT:-$(command -v graft || echo "${CARGO_TARGET_DIR:-$root/target}/release/graft")}"
WEIGHTS="${WEIGHTS:-mobilenet_v2/imagenet-0.35-96-notop}"
WEIGHTS_HASH="${WEIGHTS_HASH:-}"
DATA_URL="${DATA_URL:-https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz}"
DATA_HASH="${DATA_HASH:-}"
DATA_SUBDIR="${DATA_SUBDIR:-flower_photos}"
ARCH="${ARCH:-MobileNetV2}"
ALPHA="${ALPHA:-0.35}"
IMAGE_SIZE="${IMAGE_SIZE:-96,96}"
PREPROCESS="${PREPROCESS:-tf}"
EPOCHS="${EPOCHS:-8}"
FINE_TUNE_TOP="${FINE_TUNE_TOP:-0}"
FINE_TUNE_EPOCHS="${FINE_TUNE_EPOCHS:-3}"
BATCH_SIZE="${BATCH_SIZE:-32}"
SEED="${SEED:-1}"

if [[ ! -x "$GRAFT" ]]; then
    echo "finetune_flowers: no graft binary at $GRAFT (build it: cargo build --release -p graft-cli, or set GRAFT)" >&2
    exit 1
fi
mkdir -p "$out"

echo "[flowers] 1/4 weights: $WEIGHTS" >&2
weights="$("$GRAFT" download "$WEIGHTS" ${WEIGHTS_HASH:+--hash "$WEIGHTS_HASH"})"

echo "[flowers] 2/4 dataset: $DATA_URL" >&2
extracted="$("$GRAFT" download "$DATA_URL" --extract ${DATA_HASH:+--hash "$DATA_HASH"})"
data="$extracted/$DATA_SUBDIR"
if [[ ! -d "$data" ]]; then
    echo "finetune_flowers: $DATA_URL has no folder $DATA_SUBDIR (set DATA_SUBDIR; it holds: $(ls "$extracted"))" >&2
    exit 1
fi

echo "[flowers] 3/4 fine-tuning $ARCH (alpha $ALPHA, $IMAGE_SIZE) on $data" >&2
"$GRAFT" finetune \
    --base "$ARCH" --alpha "$ALPHA" --weights "$weights" --image-size "$IMAGE_SIZE" \
    --data "$data" --validation-split 0.2 \
    --dropout 0.2 --epochs "$EPOCHS" --batch-size "$BATCH_SIZE" \
    --fine-tune-top "$FINE_TUNE_TOP" --fine-tune-epochs "$FINE_TUNE_EPOCHS" \
    --horizontal-flip --rotation-range 10 --zoom-range 0.1 \
    --early-stopping 3 --seed "$SEED" \
    --out "$out/flowers.onnx" --export "$out/flowers.keras" --force \
    --labels-out "$out/labels.txt" --history "$out/history.json" \
    --report-json "$out/report.json" --report "$out/report"

echo "[flowers] 4/4 classifying one image of each class with the exported ONNX model" >&2
for class_dir in "$data"/*/; do
    image="$(find "$class_dir" -type f | sort | head -n 1)"
    [[ -n "$image" ]] && "$GRAFT" predict "$out/flowers.onnx" "$image" \
        --labels "$out/labels.txt" --preprocess "$PREPROCESS" --top 2
done

echo "[flowers] done: $out/flowers.onnx, $out/flowers.keras, $out/report/index.html" >&2
