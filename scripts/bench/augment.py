#!/usr/bin/env python3
"""graft-data vs tf_keras ImageDataGenerator, side by side in one run (see scripts/bench/augment.sh).

Pipeline: rotation 20, width/height shift 0.1, shear 10, zoom 0.2, horizontal flip, rescale 1/255, batch 32.
  1. in memory: 224x224x3 random uint8-valued images; tf_keras `ImageDataGenerator.flow` (float32 array, as
     Keras converts any input) vs graft `flow` (the bytes as given; also timed with an f32 array);
  2. JPEG folder: 320x240 JPEGs in two class folders, decoded, resized to 224x224 (nearest, Keras' default)
     and augmented; tf_keras `flow_from_directory` vs graft `flow_from_directory`.
Order: a warm-up of each contender, then ROUNDS rounds alternating Keras, graft 1 thread, graft 2 threads;
medians reported with graft/Keras ratios. graft runs as a subprocess (the release bench binary) timing
itself after one warm-up batch; Keras runs in this process.

Usage: augment.py BENCH_BINARY [--rounds N] [--images N] [--keras-batches N] [--graft-batches N]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def keras_generator():
    from tf_keras.preprocessing.image import ImageDataGenerator

    return ImageDataGenerator(
        rotation_range=20,
        width_shift_range=0.1,
        height_shift_range=0.1,
        shear_range=10,
        zoom_range=0.2,
        horizontal_flip=True,
        rescale=1.0 / 255,
    )


# Per contender: CPU time per image (process CPU seconds / images), which unlike img/s does not depend on
# how much of the shared machine the contender obtained.
CPU_PER_IMAGE = {}


def keras_rate(task, iterator, batches):
    next(iterator)
    start, cpu_start = time.perf_counter(), time.process_time()
    images = 0
    for _ in range(batches):
        batch = next(iterator)
        x = batch[0] if isinstance(batch, tuple) else batch
        images += len(x)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    CPU_PER_IMAGE.setdefault((task, "keras"), []).append(cpu / images)
    CORES_USED.setdefault(f"{task} keras", []).append(cpu / wall)
    return images / wall


CORES_USED = {}


def graft_rate(task, who, binary, args):
    out = subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout
    line = [l for l in out.splitlines() if "img_per_s=" in l][-1]
    fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
    CORES_USED.setdefault(f"{task} {who}", []).append(float(fields.get("cores_used", "nan")))
    CPU_PER_IMAGE.setdefault((task, who), []).append(float(fields["cpu_us_per_image"]) / 1e6)
    return float(fields["img_per_s"])


def make_data(tmp, n_images):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n_images, 224, 224, 3), dtype=np.uint8)
    raw = os.path.join(tmp, "images.u8")
    x.tofile(raw)
    jpegs = os.path.join(tmp, "jpegs")
    yy, xx = np.mgrid[0:240, 0:320]
    for i in range(n_images):
        folder = os.path.join(jpegs, "class_a" if i % 2 == 0 else "class_b")
        os.makedirs(folder, exist_ok=True)
        # Random-ish photos: smooth gradients with a random phase plus noise (JPEG-realistic sizes).
        phase = rng.uniform(0, 6.28, 3)
        smooth = np.stack(
            [127 + 100 * np.sin(xx / (20 + 7 * c) + phase[c]) * np.cos(yy / (15 + 5 * c)) for c in range(3)], -1
        )
        noise = rng.normal(0, 12, (240, 320, 3))
        img = np.clip(smooth + noise, 0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(folder, f"img_{i:04d}.jpg"), quality=90)
    return x, raw, jpegs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--keras-batches", type=int, default=4)
    parser.add_argument("--graft-batches", type=int, default=32)
    opts = parser.parse_args()

    import tf_keras

    with tempfile.TemporaryDirectory() as tmp:
        x_u8, raw, jpegs = make_data(tmp, opts.images)
        x = x_u8.astype(np.float32)
        generator = keras_generator()
        keras_flow = generator.flow(x, batch_size=32, shuffle=True, seed=1)
        keras_dir = generator.flow_from_directory(
            jpegs, target_size=(224, 224), batch_size=32, shuffle=True, seed=1, class_mode="categorical"
        )
        flow_args = ["flow", "--raw", raw, "--batches", str(opts.graft_batches)]
        dir_args = ["dir", "--dir", jpegs, "--batches", str(opts.graft_batches)]
        contenders = [
            ("flow", "keras", lambda: keras_rate("flow", keras_flow, opts.keras_batches)),
            ("flow", "graft-1t", lambda: graft_rate("flow", "graft-1t", opts.binary, flow_args + ["--threads", "1"])),
            ("flow", "graft-2t", lambda: graft_rate("flow", "graft-2t", opts.binary, flow_args + ["--threads", "2"])),
            # The same with the images stored as f32, as Keras stores them.
            (
                "flow",
                "graft-2t-f32",
                lambda: graft_rate("flow", "graft-2t-f32", opts.binary, flow_args + ["--threads", "2", "--f32"]),
            ),
            ("dir", "keras", lambda: keras_rate("dir", keras_dir, opts.keras_batches)),
            ("dir", "graft-1t", lambda: graft_rate("dir", "graft-1t", opts.binary, dir_args + ["--threads", "1"])),
            ("dir", "graft-2t", lambda: graft_rate("dir", "graft-2t", opts.binary, dir_args + ["--threads", "2"])),
        ]
        print("warm-up...", file=sys.stderr)
        for _, _, run in contenders:
            run()
        CPU_PER_IMAGE.clear()
        CORES_USED.clear()
        results = {(task, who): [] for task, who, _ in contenders}
        for r in range(opts.rounds):
            for task, who, run in contenders:
                results[(task, who)].append(run())
            print(f"round {r + 1}/{opts.rounds} done", file=sys.stderr)

    print(f"tf_keras {tf_keras.__version__}, {os.cpu_count()} CPUs, {opts.rounds} rounds, median img/s")
    print(f"{'task':6} {'contender':12} {'median':>9}  {'ratio':>7}  {'cores':>5}  {'CPU ms/img':>10}  "
          f"{'ratio/CPU':>9}  runs (img/s)")
    for task in ["flow", "dir"]:
        keras = statistics.median(results[(task, "keras")])
        keras_cpu = statistics.median(CPU_PER_IMAGE[(task, "keras")])
        for who in ["keras", "graft-1t", "graft-2t", "graft-2t-f32"]:
            if (task, who) not in results:
                continue
            runs = results[(task, who)]
            median = statistics.median(runs)
            cores = statistics.median(CORES_USED[f"{task} {who}"])
            cpu = statistics.median(CPU_PER_IMAGE[(task, who)])
            listed = " ".join(f"{v:.0f}" for v in runs)
            print(
                f"{task:6} {who:12} {median:9.1f}  {median / keras:6.1f}x  {cores:5.2f}  {cpu * 1e3:10.3f}  "
                f"{keras_cpu / cpu:8.1f}x  {listed}"
            )
    print("cores: CPU time / wall time obtained on the shared machine; ratio/CPU: images per CPU-second, "
          "graft over Keras.")


if __name__ == "__main__":
    main()
