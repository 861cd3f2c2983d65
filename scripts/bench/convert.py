"""Side-by-side conversion benchmark: Keras .h5 -> ONNX with `graft convert` vs tf2onnx's
`from_keras`, on the same file, in the same run.

Each tool runs in its own process under `/usr/bin/time -v`, rounds alternating, the file in the
page cache (one warm-up run of each first). Reported per tool: the median wall time of the whole
process and its peak resident set size; for tf2onnx also the time inside Python after its
imports (`keras.models.load_model` + `from_keras`, which is what a user already in Python pays).
graft's peak RSS is also given as a multiple of the model's weight bytes. Both ONNX files are
then run by onnxruntime on the same input as a sanity check.

    scripts/bench/convert.sh [MODEL.h5]   (default: the Keras 3 ResNet50 .h5 fixture)
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def timed(cmd):
    """Runs `cmd` under /usr/bin/time -v: (wall seconds, peak RSS bytes, stdout)."""
    out = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", out.stderr).group(1)
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    return secs, rss_kb * 1024, out.stdout


def weight_bytes(path):
    import h5py

    total = 0
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f

        def visit(_, obj):
            nonlocal total
            if isinstance(obj, h5py.Dataset):
                total += obj.size * obj.dtype.itemsize

        root.visititems(visit)
    return total


def tf2onnx_child(model, out):
    """The peer, as a user runs it: load the Keras file, convert, save."""
    import tensorflow as tf
    import keras
    import tf2onnx

    t = time.perf_counter()
    m = keras.models.load_model(model, compile=False)
    spec = tuple(tf.TensorSpec((None,) + tuple(i.shape[1:]), tf.float32, name=f"input_{k}")
                 for k, i in enumerate(m.inputs))
    tf2onnx.convert.from_keras(m, input_signature=spec, opset=17, output_path=out)
    print(json.dumps({"in_python_s": time.perf_counter() - t, "tf2onnx": tf2onnx.__version__,
                      "keras": keras.__version__}))


def sanity(graft_onnx, peer_onnx, model):
    import numpy as np
    import onnxruntime as ort

    outs = []
    for path in (graft_onnx, peer_onnx):
        s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        i = s.get_inputs()[0]
        shape = [2 if not isinstance(d, int) else d for d in i.shape]
        x = np.random.default_rng(0).normal(0, 1, shape).astype(np.float32)
        outs.append(s.run(None, {i.name: x})[0])
    a, b = outs
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--graft", help="path of the graft binary")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--tf2onnx-child", nargs=2, metavar=("MODEL", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.tf2onnx_child:
        return tf2onnx_child(*args.tf2onnx_child)

    with tempfile.TemporaryDirectory() as tmp:
        g_out, p_out = os.path.join(tmp, "graft.onnx"), os.path.join(tmp, "tf2onnx.onnx")
        graft = [args.graft, "convert", args.model, g_out, "--force", "-q"]
        peer = [sys.executable, os.path.abspath(__file__), args.model, "--tf2onnx-child", args.model, p_out]
        timed(graft), timed(peer)  # warm-up (and page cache)
        g_wall, g_rss, p_wall, p_rss, p_py = [], [], [], [], []
        for _ in range(args.rounds):
            w, r, _ = timed(graft)
            g_wall.append(w), g_rss.append(r)
            w, r, out = timed(peer)
            info = json.loads(out.strip().splitlines()[-1])
            p_wall.append(w), p_rss.append(r), p_py.append(info["in_python_s"])
        rel = sanity(g_out, p_out, args.model)

    wb = weight_bytes(args.model)
    gw, pw, pp = statistics.median(g_wall), statistics.median(p_wall), statistics.median(p_py)
    gr, pr = max(g_rss), max(p_rss)
    row = {"model": os.path.relpath(args.model), "weight_bytes": wb, "rounds": args.rounds,
           "graft_wall_s": round(gw, 3), "graft_peak_rss_mib": round(gr / 2**20, 1),
           "graft_rss_over_weights": round(gr / wb, 2),
           "tf2onnx_wall_s": round(pw, 2), "tf2onnx_in_python_s": round(pp, 2),
           "tf2onnx_peak_rss_mib": round(pr / 2**20, 1),
           "speedup_process": round(pw / gw, 1), "speedup_vs_in_python": round(pp / gw, 1),
           "tf2onnx_version": info["tf2onnx"], "keras_version": info["keras"],
           "onnxruntime_rel_diff": rel}
    print(f"{row['model']} ({wb / 1e6:.1f} MB of weights), median of {args.rounds} alternating rounds:")
    print(f"  graft convert       {gw:7.3f}s  peak RSS {gr / 2**20:7.1f} MiB "
          f"({gr / wb:.2f}x the weight bytes)")
    print(f"  tf2onnx from_keras  {pw:7.2f}s  peak RSS {pr / 2**20:7.1f} MiB "
          f"(load_model + from_keras after imports: {pp:.2f}s; tf2onnx {info['tf2onnx']}, "
          f"keras {info['keras']})")
    print(f"  -> graft is {pw / gw:.0f}x faster per process, {pp / gw:.0f}x faster than tf2onnx's "
          f"in-Python conversion alone; {pr / gr:.0f}x less memory")
    print(f"  onnxruntime on both files: max |graft - tf2onnx| = {rel:.1e} of max |tf2onnx|")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(row, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
