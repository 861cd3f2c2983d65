#!/usr/bin/env bash
# Re-creates models/demo_backbone.{h5,keras} and its sample with the pinned Keras.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/scripts/setup.sh" --python
TF_CPP_MIN_LOG_LEVEL=3 "$root/.venv/bin/python" "$root/scripts/models/pretrain_demo_backbone.py" --out "$root/models"
