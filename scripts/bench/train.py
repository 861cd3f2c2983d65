"""Side-by-side training benchmark: graft vs Keras `fit` (and PyTorch for fine-tuning).

For each model (MobileNetV2, ResNet50 at 224x224, random weights, seeded random 0-255 images):

1. frozen base + new Dense head, `fit` for EPOCHS epochs on IMAGES images, batch 32.
   Keras: `base.trainable = False`, `model.fit(x, y)`. graft: the same .h5 base, `Trainer::fit`
   on the same arrays, with feature caching (graft's default: the frozen base runs once).
   Both times include everything `fit` does (Keras' tracing, graft's cache build).
2. full fine-tuning with augmentation on (ImageDataGenerator rotation 20, shifts 0.1, shear 10,
   zoom 0.2, horizontal flip; no caching possible), batch 16: images per second over STEPS
   steps after one warm-up step. Keras: tf_keras' ImageDataGenerator.flow feeding Keras 3's
   `fit`. PyTorch: torchvision's model with torchvision.transforms.v2 RandomAffine + flip.
   graft: graft-data's ImageDataGenerator feeding `Trainer::fit`.

    scripts/bench/train.sh [--models mobilenetv2,resnet50] [--epochs 10] [--images 512] [--steps 4]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

CLASSES = 5


def keras_base(keras, name):
    app = {"mobilenetv2": keras.applications.MobileNetV2, "resnet50": keras.applications.ResNet50}[name]
    return app(weights=None, include_top=False, pooling="avg", input_shape=(224, 224, 3))


def keras_frozen(keras, base, x, y, epochs):
    base.trainable = False
    inputs = keras.Input((224, 224, 3))
    outputs = keras.layers.Dense(CLASSES, activation="softmax")(base(inputs, training=False))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    t = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return time.perf_counter() - t


class StepTimes:
    def __init__(self):
        self.times, self.t = [], None

    def begin(self):
        self.t = time.perf_counter()

    def end(self):
        self.times.append(time.perf_counter() - self.t)

    def images_per_second(self, batch):
        timed = self.times[1:]  # the first step warms up
        return len(timed) * batch / sum(timed)


def keras_finetune(keras, base, x, y, steps, batch):
    from tf_keras.preprocessing.image import ImageDataGenerator

    base.trainable = True
    inputs = keras.Input((224, 224, 3))
    outputs = keras.layers.Dense(CLASSES, activation="softmax")(base(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    gen = ImageDataGenerator(rotation_range=20, width_shift_range=0.1, height_shift_range=0.1,
                             shear_range=10, zoom_range=0.2, horizontal_flip=True)
    flow = gen.flow(x, y, batch_size=batch, seed=1)
    timer = StepTimes()

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            timer.begin()

        def on_train_batch_end(self, batch, logs=None):
            timer.end()

    # A Python generator: Keras pulls (and augments) each batch inside the step, as users run it.
    def batches():
        while True:
            yield next(flow)

    model.fit(batches(), steps_per_epoch=steps + 1, epochs=1, verbose=0, callbacks=[Timer()])
    return timer.images_per_second(batch)


def torch_finetune(name, x, y, steps, batch):
    import torch
    import torchvision
    from torchvision.transforms import v2

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    model = getattr(torchvision.models, {"mobilenetv2": "mobilenet_v2", "resnet50": "resnet50"}[name])(
        weights=None, num_classes=CLASSES)
    model.train()
    augment = v2.Compose([v2.RandomAffine(degrees=20, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10),
                          v2.RandomHorizontalFlip()])
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    timer = StepTimes()
    for step in range(steps + 1):
        timer.begin()
        idx = np.arange(step * batch, (step + 1) * batch) % len(x)
        images = torch.from_numpy(x[idx]).permute(0, 3, 1, 2)
        images = torch.stack([augment(im) for im in images])
        labels = torch.from_numpy(y[idx].astype(np.int64))
        opt.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        opt.step()
        timer.end()
    return timer.images_per_second(batch)


def graft(binary, *args):
    out = subprocess.run([binary, *map(str, args)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--graft", required=True, help="path of the bench_train binary")
    ap.add_argument("--models", default="mobilenetv2,resnet50")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--finetune-batch", type=int, default=16)
    ap.add_argument("--skip-frozen", action="store_true")
    ap.add_argument("--skip-finetune", action="store_true")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    import keras
    import tensorflow as tf

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        x = rng.uniform(0, 255, (args.images, 224, 224, 3)).astype("float32")
        y = rng.integers(0, CLASSES, args.images).astype("float32")
        xp, yp = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
        np.save(xp, x)
        np.save(yp, y)
        for name in args.models.split(","):
            keras.utils.set_random_seed(0)
            base = keras_base(keras, name)
            path = os.path.join(tmp, f"{name}.h5")
            base.save(path)
            row = {"model": name, "images": args.images, "threads": os.cpu_count(),
                   "keras": keras.__version__, "tensorflow": tf.__version__}
            if not args.skip_frozen:
                g = graft(args.graft, "frozen", path, xp, yp, args.epochs, 32)
                k = keras_frozen(keras, base, x, y, args.epochs)
                row.update(epochs=args.epochs, keras_frozen_s=round(k, 2), graft_frozen_s=g["seconds"],
                           graft_cached=g["cached"], frozen_speedup=round(k / g["seconds"], 2))
                print(f"{name}: frozen base + head, {args.epochs} epochs x {args.images} images: "
                      f"Keras fit {k:.1f}s, graft {g['seconds']:.1f}s (cache {g['cached']}) "
                      f"-> graft {k / g['seconds']:.1f}x faster", flush=True)
            if not args.skip_finetune:
                b, s = args.finetune_batch, args.steps
                g = graft(args.graft, "finetune", path, xp, yp, s, b)["images_per_second"]
                keras.utils.set_random_seed(0)
                k = keras_finetune(keras, keras_base(keras, name), x, y, s, b)
                t = torch_finetune(name, x, y, s, b)
                row.update(finetune_batch=b, finetune_steps=s, graft_finetune_ips=round(g, 2),
                           keras_finetune_ips=round(k, 2), torch_finetune_ips=round(t, 2),
                           finetune_vs_keras=round(g / k, 2), finetune_vs_torch=round(g / t, 2))
                print(f"{name}: full fine-tune with augmentation, batch {b}: graft {g:.2f} img/s, "
                      f"Keras {k:.2f} img/s, PyTorch {t:.2f} img/s -> graft/Keras {g / k:.2f}, "
                      f"graft/PyTorch {g / t:.2f}", flush=True)
            results.append(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
