"""Pretrains graft's demo backbone with real Keras 3 and writes it to models/.

The backbone is a small CNN trained to tell four synthetic shapes apart (circle, square,
triangle, cross) on 32x32 RGB images with random colours, sizes and positions. Its
global-average-pooled feature layer is named `features`, so `graft finetune --cut-at features`
can reuse it for another task (the demo fine-tunes it on different classes).

Writes (all committed, ~0.5 MB):
  models/demo_backbone.h5              the model (Keras 3 legacy HDF5)
  models/demo_backbone.keras           the same model as a .keras archive
  models/demo_backbone.sample_x.npy    8 sample images (NHWC, 0-255)
  models/demo_backbone.sample_y.npy    Keras' outputs on them

Run with scripts/models/pretrain_demo_backbone.sh (pinned Keras from scripts/requirements.txt).
Deterministic: the same seed gives the same file contents' numbers.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from PIL import Image, ImageDraw

import keras

SHAPES = ["circle", "square", "triangle", "cross"]
SIZE = 32


def draw(shape, rng):
    """One image of `shape` on a random background."""
    bg = tuple(int(v) for v in rng.integers(0, 256, 3))
    fg = tuple(int(v) for v in rng.integers(0, 256, 3))
    # Keep the shape visible: push the foreground away from the background.
    if sum(abs(a - b) for a, b in zip(bg, fg)) < 200:
        fg = tuple(255 - v for v in bg)
    img = Image.new("RGB", (SIZE, SIZE), bg)
    d = ImageDraw.Draw(img)
    r = int(rng.integers(7, 13))
    cx, cy = (int(v) for v in rng.integers(r + 1, SIZE - r - 1, 2))
    box = [cx - r, cy - r, cx + r, cy + r]
    if shape == "circle":
        d.ellipse(box, fill=fg)
    elif shape == "square":
        d.rectangle(box, fill=fg)
    elif shape == "triangle":
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fg)
    else:
        w = max(2, r // 3)
        d.rectangle([cx - r, cy - w, cx + r, cy + w], fill=fg)
        d.rectangle([cx - w, cy - r, cx + w, cy + r], fill=fg)
    return np.asarray(img, dtype=np.float32)


def dataset(n, rng):
    labels = rng.integers(0, len(SHAPES), n)
    images = np.stack([draw(SHAPES[k], rng) for k in labels])
    return images, labels


def build():
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inputs)
    for i, filters in enumerate([16, 32, 64], start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{i}_conv")(x)
        x = keras.layers.BatchNormalization(name=f"block{i}_bn")(x)
        x = keras.layers.ReLU(name=f"block{i}_relu")(x)
        if i < 3:
            x = keras.layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    outputs = keras.layers.Dense(len(SHAPES), activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="demo_backbone")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="the models/ folder")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x, y = dataset(3000, rng)
    xv, yv = dataset(400, rng)
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=12, validation_data=(xv, yv), verbose=2)
    loss, acc = model.evaluate(xv, yv, verbose=0)
    print(f"validation accuracy on the pretraining task: {acc:.3f}")
    os.makedirs(args.out, exist_ok=True)
    model.save(os.path.join(args.out, "demo_backbone.h5"))
    model.save(os.path.join(args.out, "demo_backbone.keras"))
    sample = xv[:8]
    np.save(os.path.join(args.out, "demo_backbone.sample_x.npy"), sample.astype(np.float32))
    np.save(os.path.join(args.out, "demo_backbone.sample_y.npy"), model.predict(sample, verbose=0).astype(np.float32))


if __name__ == "__main__":
    main()
