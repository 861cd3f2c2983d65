"""Side-by-side load benchmark: `keras.models.load_model` vs graft (file -> ready-to-run model).

Both run warm (the file in the page cache, one warm-up load first), alternating rounds, and the
medians are compared as a ratio in the same run. Keras is timed inside one Python process
(TensorFlow's import is not counted); graft inside its own process via the `bench_load` example
(process start is not counted either).

    scripts/bench/load.sh [MODEL.h5 ...]   (default: the Keras 3 ResNet50 .h5 fixture)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--graft", required=True, help="path of the bench_load binary")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    import keras

    results = []
    for path in args.models:
        keras.models.load_model(path, compile=False)  # warm-up (and page cache)
        subprocess.run([args.graft, path, "1"], check=True, capture_output=True)
        keras_times, graft_times = [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            keras.models.load_model(path, compile=False)
            keras_times.append(time.perf_counter() - t)
            out = subprocess.run([args.graft, path, "1"], check=True, capture_output=True, text=True)
            graft_times.append(json.loads(out.stdout)["runs"][0])
        k, g = statistics.median(keras_times), statistics.median(graft_times)
        size = os.path.getsize(path) / 2**20
        row = {"model": os.path.relpath(path), "size_mib": round(size, 1), "keras_s": round(k, 4),
               "graft_s": round(g, 4), "speedup": round(k / g, 2), "rounds": args.rounds,
               "keras_version": keras.__version__}
        results.append(row)
        print(f"{row['model']} ({size:.0f} MiB): keras.models.load_model {k:.3f}s, graft {g:.3f}s "
              f"-> graft is {k / g:.1f}x faster (median of {args.rounds} alternating rounds)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
