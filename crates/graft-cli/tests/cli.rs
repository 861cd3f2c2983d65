//! The `graft` binary end to end: demo, summary, run, convert, and clear one-line errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn graft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graft"))
        .args(args)
        .output()
        .expect("graft runs")
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/keras")
        .join(path)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn demo_imports_runs_and_matches_keras() {
    let dir = tempfile::tempdir().unwrap();
    let out = graft(&["demo", "--out", dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("8/8 top-1 agree"), "{stdout}");
    assert!(
        stdout.contains("top-1 agrees on 80/80"),
        "tract check of the export: {stdout}"
    );
    for f in [
        "demo_backbone.h5",
        "sample_images.npy",
        "keras_outputs.npy",
        "graft_outputs.npy",
        "finetuned.onnx",
        "finetuned.keras",
        "history.json",
        "report.json",
        "labels.txt",
        "report/index.html",
        "report/curves.png",
        "report/confusion_matrix.png",
    ] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    // The fine-tuned model learnt the new task (4 classes: chance is 0.25).
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let accuracy = report["accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.7, "demo validation accuracy {accuracy}");
}

#[test]
fn summary_prints_keras_totals() {
    let out = graft(&[
        "summary",
        fixture("keras3/nested_frozen/model.h5").to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("keras3/nested_frozen/meta.json")).unwrap(),
    )
    .unwrap();
    let total = meta["summary"]["total_params"].as_u64().unwrap();
    let grouped = graft::ir::summary::group_digits(total as usize);
    assert!(
        stdout.contains(&format!("Total params: {grouped}")),
        "{stdout}"
    );
    assert!(stdout.contains("base (Functional)"), "{stdout}");
}

#[test]
fn run_writes_keras_outputs_for_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixture("keras3/multi_io");
    let y = dir.path().join("y.npy");
    let out = graft(&[
        "run",
        fx.join("model.keras").to_str().unwrap(),
        "-i",
        fx.join("input_0.npy").to_str().unwrap(),
        "-i",
        fx.join("input_1.npy").to_str().unwrap(),
        "-o",
        y.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for i in 0..2 {
        let ours = graft::npy::read(dir.path().join(format!("y_{i}.npy"))).unwrap();
        let keras = graft::npy::read(fx.join(format!("output_{i}.npy"))).unwrap();
        assert_eq!(ours.shape(), keras.shape());
        let scale = keras.data().iter().fold(0f32, |m, v| m.max(v.abs()));
        for (a, b) in ours.data().iter().zip(keras.data()) {
            assert!((a - b).abs() <= 1e-4 * scale, "{a} vs {b}");
        }
    }
    assert!(
        !y.exists(),
        "a multi-output model writes y_0.npy, y_1.npy, not y.npy"
    );
}

#[test]
fn bad_inputs_fail_with_one_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let y = dir.path().join("y.npy");
    // Not a model.
    let out = graft(&["summary", fixture("errors/not_hdf5.h5").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("not_hdf5.h5"),
        "{err}"
    );
    // A Lambda layer.
    let out = graft(&[
        "summary",
        fixture("errors/keras3_lambda.keras").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("my_lambda"));
    // An input of the wrong shape: error naming the input, no output file.
    let fx = fixture("keras3/nested_frozen");
    let out = graft(&[
        "run",
        fx.join("model.h5").to_str().unwrap(),
        "-i",
        fixture("keras3/multi_io/input_1.npy").to_str().unwrap(),
        "-o",
        y.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("input 0") && err.contains("expects shape"),
        "{err}"
    );
    assert!(!y.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary file left"
    );
}

#[test]
fn summary_lists_every_unsupported_onnx_node() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/onnx/errors/unsupported.onnx");
    let out = graft(&["summary", model.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("unsupported.onnx"),
        "{err}"
    );
    // All three nodes at once, each with its op type, and the opset.
    for want in [
        "3 nodes use ops graft does not support (opset 17)",
        "'my_topk' (TopK)",
        "'my_einsum' (Einsum)",
        "'my_erf' (Erf)",
    ] {
        assert!(err.contains(want), "missing {want:?} in: {err}");
    }
}

#[test]
fn augment_writes_previews_and_rejects_bad_options() {
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/images/tree");
    let out = tempfile::tempdir().expect("temp dir");
    let dir = out.path().join("previews");
    let (tree, dir) = (tree.to_str().unwrap(), dir.to_str().unwrap());
    let common = [
        tree,
        "--out",
        dir,
        "--count",
        "7",
        "--target-size",
        "24,20",
        "--seed",
        "3",
    ];
    let augmented = [
        "--rotation-range",
        "20",
        "--zoom-range",
        "0.8,1.2",
        "--horizontal-flip",
        "--fill-mode",
        "reflect",
    ];
    let o = graft(&[&["augment"][..], &common, &augmented, &["-q"]].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut written: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    written.sort();
    assert_eq!(written.len(), 7);
    let first = graft_free_png_size(&written[0]);
    assert_eq!(first, (20, 24), "width x height of a written preview");

    let o = graft(&[&["augment"][..], &common, &["--fill-mode", "mirror"]].concat());
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("fill_mode"), "{}", text(&o.stderr));
    let missing = out.path().join("missing");
    let o = graft(&["augment", missing.to_str().unwrap(), "--out", dir]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("missing"), "{err}");
}

/// Width and height from a PNG header (the IHDR chunk), without an image crate.
fn graft_free_png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).expect("preview");
    assert_eq!(&bytes[1..4], b"PNG", "{} is not a PNG", path.display());
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Every file in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn convert_between_formats_with_verify() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("keras3/sequential_cnn/model.h5");
    let onnx = dir.path().join("cnn.onnx");
    let keras = dir.path().join("cnn.keras");
    let tf2 = dir.path().join("cnn_tf2.h5");
    let renamed = dir.path().join("cnn.bin");
    let steps: [(&Path, &Path, &[&str]); 4] = [
        (&source, &onnx, &[]),
        (&onnx, &keras, &[]),
        (&keras, &tf2, &["--keras-dialect", "2"]),
        (&tf2, &renamed, &["--to", "h5", "--batch", "3"]),
    ];
    for (from, to, extra) in steps {
        let mut args = vec![
            "convert",
            from.to_str().unwrap(),
            to.to_str().unwrap(),
            "--verify",
        ];
        args.extend_from_slice(extra);
        let out = graft(&args);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{args:?}: {stdout}\n{}",
            text(&out.stderr)
        );
        assert!(stdout.contains("verify output 0: max |"), "{stdout}");
        assert!(stdout.contains("relative"), "{stdout}");
    }
    // The last one is a tf.keras 2 legacy .h5 despite its name; no temporary files remain.
    assert!(graft::keras::load_model(&renamed).is_ok());
    assert_eq!(
        listing(dir.path()),
        ["cnn.bin", "cnn.keras", "cnn.onnx", "cnn_tf2.h5"]
    );
    // A tolerance nothing meets fails with status 1.
    let out = graft(&[
        "convert",
        source.to_str().unwrap(),
        dir.path().join("strict.onnx").to_str().unwrap(),
        "--verify",
        "--tolerance=-1",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("differs from the source"));
}

#[test]
fn convert_keeps_an_existing_output_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("keras3/sequential_cnn/model.h5");
    for name in ["model.onnx", "model.keras", "model.h5"] {
        let out_path = dir.path().join(name);
        std::fs::write(&out_path, b"precious").unwrap();
        let args = [
            "convert",
            source.to_str().unwrap(),
            out_path.to_str().unwrap(),
        ];
        let out = graft(&args);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(name) && stderr.contains("--force"),
            "{stderr}"
        );
        assert_eq!(std::fs::read(&out_path).unwrap(), b"precious");
        let out = graft(&[args[0], args[1], args[2], "--force"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_ne!(std::fs::read(&out_path).unwrap(), b"precious");
    }
    assert_eq!(
        listing(dir.path()),
        ["model.h5", "model.keras", "model.onnx"]
    );
}

#[test]
fn convert_refuses_layers_the_target_cannot_express() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("keras3/activations/model.h5");
    // GLU has no ONNX operator; Keras 3-only activations have no tf.keras 2 name.
    let cases: [(&str, &[&str], &str); 2] = [
        ("out.onnx", &[], "'act_glu'"),
        ("out.h5", &["--keras-dialect", "2"], "tf.keras 2"),
    ];
    for (name, extra, expected) in cases {
        let out_path = dir.path().join(name);
        let mut args = vec![
            "convert",
            source.to_str().unwrap(),
            out_path.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = graft(&args);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(name) && stderr.contains(expected),
            "{stderr}"
        );
        assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
    }
    // A .keras archive is Keras 3 only.
    let out = graft(&[
        "convert",
        source.to_str().unwrap(),
        dir.path().join("x.keras").to_str().unwrap(),
        "--keras-dialect",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(listing(dir.path()).is_empty());
}

/// The demo backbone (pretrained by Keras on circles, squares, triangles and crosses).
fn backbone() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/demo_backbone.h5")
}

fn shapes_task(root: &Path) {
    let shapes = graft::data::synthetic::NEW_SHAPES;
    graft::data::synthetic::write_folder(&root.join("train"), &shapes, 40, 32, 11).unwrap();
    graft::data::synthetic::write_folder(&root.join("val"), &shapes, 16, 32, 12).unwrap();
}

#[test]
fn finetune_trains_exports_and_reports_and_predict_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    shapes_task(root);
    let p = |name: &str| root.join(name).display().to_string();
    let o = graft(&[
        "finetune",
        "--base",
        &backbone().display().to_string(),
        "--cut-at",
        "features",
        "--data",
        &p("train"),
        "--val-data",
        &p("val"),
        "--epochs",
        "12",
        "--lr",
        "0.01",
        "--horizontal-flip",
        "--rotation-range",
        "10",
        "--fine-tune-top",
        "2",
        "--fine-tune-epochs",
        "3",
        "--fine-tune-lr",
        "0.001",
        "--out",
        &p("m.onnx"),
        "--export",
        &p("m.keras"),
        "--history",
        &p("h.json"),
        "--report-json",
        &p("r.json"),
        "--report",
        &p("report"),
        "--labels-out",
        &p("labels.txt"),
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(p("labels.txt")).unwrap(),
        "diamond\ndots\nring\nstripes\n"
    );
    let stdout = text(&o.stdout);
    assert!(stdout.contains("confusion matrix"), "{stdout}");
    let history: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("h.json")).unwrap()).unwrap();
    assert_eq!(
        history["val_accuracy"].as_array().unwrap().len(),
        15,
        "{history}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("r.json")).unwrap()).unwrap();
    let accuracy = report["accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.7, "validation accuracy {accuracy}");
    check_html_report(&root.join("report"), &report, true);

    // `graft evaluate` on each export reproduces the report's accuracy.
    for model in ["m.onnx", "m.keras"] {
        let dir = p(&format!("eval-{model}"));
        let o = graft(&["evaluate", &p(model), &p("val"), "--json", "--report", &dir]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let eval: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            eval["confusion_matrix"], report["confusion_matrix"],
            "{model}"
        );
        check_html_report(Path::new(&dir), &eval, false);
    }
    // `graft predict` gives every image one top class, the same from both exports.
    let tops = |model: &str| -> Vec<String> {
        let o = graft(&["predict", &p(model), &p("val"), "--json"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["top"][0]["class"].to_string()
            })
            .collect()
    };
    let onnx = tops("m.onnx");
    assert_eq!(onnx.len(), 64);
    assert_eq!(onnx, tops("m.keras"));

    // The other side: onnxruntime on the exported file picks the same class for every image.
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/setup.sh --python",
        python.display()
    );
    let script = r#"
import json, sys, pathlib
import numpy as np, onnxruntime as ort
from PIL import Image
model, root = sys.argv[1], pathlib.Path(sys.argv[2])
files = sorted(p for p in root.rglob("*.png"))
x = np.stack([np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) for f in files])
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
y = session.run(None, {session.get_inputs()[0].name: x})[0]
print(json.dumps([int(v) for v in y.argmax(axis=1)]))
"#;
    let o = Command::new(&python)
        .args(["-c", script, &p("m.onnx"), &p("val")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let ort: Vec<u64> = serde_json::from_slice(&o.stdout).unwrap();
    let ours: Vec<u64> = onnx.iter().map(|c| c.parse().unwrap()).collect();
    assert_eq!(ours, ort, "graft predict vs onnxruntime top-1");
}

/// The HTML report shows what the JSON report says: accuracy, one thumbnail per misclassified
/// image, the curves and the matrix inline, the summary; the plots are also files.
fn check_html_report(dir: &Path, report: &serde_json::Value, curves: bool) {
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let matrix: Vec<Vec<u64>> = serde_json::from_value(report["confusion_matrix"].clone()).unwrap();
    let total: u64 = matrix.iter().flatten().sum();
    let right: u64 = (0..matrix.len()).map(|i| matrix[i][i]).sum();
    assert!(
        html.contains(&format!("({right} of {total} images)")),
        "accuracy line missing"
    );
    let wrong = (total - right) as usize;
    assert!(html.contains(&format!("Misclassified images ({wrong})")));
    assert_eq!(html.matches("data:image/png;base64,").count(), wrong);
    assert_eq!(
        html.matches("<svg").count(),
        1 + curves as usize,
        "curves and matrix inline"
    );
    assert!(html.contains("Total params"), "summary table missing");
    assert!(!html.contains("<script"), "self-contained, no scripts");
    for name in ["curves", "confusion_matrix"] {
        if name == "curves" && !curves {
            assert!(!dir.join("curves.svg").exists());
            continue;
        }
        let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{name}.svg");
        let png = std::fs::read(dir.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}.png");
    }
}

#[test]
fn plot_draws_layer_graphs_and_histories() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).display().to_string();
    let model = fixture("keras3/nested_frozen/model.h5")
        .display()
        .to_string();
    let o = graft(&[
        "plot",
        &model,
        "-o",
        &p("m.dot"),
        "--show-shapes",
        "--show-layer-names",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let dot = std::fs::read_to_string(p("m.dot")).unwrap();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("->"), "no edges: {dot}");
    assert!(dot.contains("(None, "), "no shapes: {dot}");

    // Collapsed vs expanded nested model: expanding draws more boxes.
    let boxes = |args: &[&str]| {
        let mut all = vec!["plot", model.as_str(), "-o"];
        let out = p("n.dot");
        all.push(&out);
        all.extend_from_slice(args);
        let o = graft(&all);
        assert!(o.status.success(), "{}", text(&o.stderr));
        std::fs::read_to_string(p("n.dot"))
            .unwrap()
            .matches("label=")
            .count()
    };
    assert!(boxes(&["--expand-nested"]) > boxes(&[]));

    let o = graft(&[
        "plot",
        &model,
        "-o",
        &p("m.png"),
        "--rankdir",
        "LR",
        "--dpi",
        "96",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let png = std::fs::read(p("m.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let (w, h) = graft_free_png_size(Path::new(&p("m.png")));
    assert!(w > h, "LR should be wider than tall: {w}x{h}");
    let o = graft(&["plot", &model, "-o", &p("m.svg")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        std::fs::read_to_string(p("m.svg"))
            .unwrap()
            .contains("<svg")
    );

    std::fs::write(
        p("h.json"),
        r#"{"epoch": [0, 1, 2], "loss": [1.2, 0.8, 0.5], "val_loss": [1.3, 0.9, 0.7],
           "accuracy": [0.4, 0.6, 0.8], "val_accuracy": [0.3, 0.5, 0.7]}"#,
    )
    .unwrap();
    let o = graft(&["plot", &p("h.json"), "-o", &p("curves.svg")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let svg = std::fs::read_to_string(p("curves.svg")).unwrap();
    assert!(svg.contains("loss") && svg.contains("accuracy") && svg.contains("validation"));

    // Bad input: one line, nothing written.
    for (args, expected) in [
        (vec!["plot", model.as_str(), "-o", "x.gif"], "x.gif"),
        (vec!["plot", "missing.h5", "-o", "y.svg"], "missing.h5"),
    ] {
        let o = graft(&args);
        let err = text(&o.stderr);
        assert!(
            !o.status.success() && err.lines().count() == 1,
            "{args:?}: {err}"
        );
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    std::fs::write(p("bad.json"), r#"{"loss": "high"}"#).unwrap();
    let o = graft(&["plot", &p("bad.json"), "-o", &p("bad.svg")]);
    assert!(!o.status.success() && text(&o.stderr).contains("\"loss\""));
    assert!(!Path::new(&p("bad.svg")).exists());
}

#[test]
fn finetune_rejects_bad_arguments_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let p = |name: &str| root.join(name).display().to_string();
    graft::data::synthetic::write_folder(&root.join("one"), &["ring"], 4, 32, 1).unwrap();
    shapes_task(root);
    let base = backbone().display().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec!["finetune", "--base", base.as_str(), "--epochs", "50"];
        args.extend_from_slice(extra);
        graft(&args)
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--data".into(), p("missing"), "--out".into(), p("a.onnx")],
            "no such folder",
        ),
        (
            vec!["--data".into(), p("one"), "--out".into(), p("b.onnx")],
            "at least two",
        ),
        (
            vec![
                "--data".into(),
                p("train"),
                "--cut-at".into(),
                "block9".into(),
                "--out".into(),
                p("c.onnx"),
            ],
            "block9",
        ),
        (
            vec![
                "--data".into(),
                p("train"),
                "--out".into(),
                "/proc/graft/m.onnx".into(),
            ],
            "/proc/graft",
        ),
        (
            vec!["--data".into(), p("train"), "--out".into(), p("m.txt")],
            "m.txt",
        ),
        // The backbone's `features` output is already a vector: nothing to pool.
        (
            vec![
                "--data".into(),
                p("train"),
                "--cut-at".into(),
                "features".into(),
                "--pooling".into(),
                "max".into(),
                "--out".into(),
                p("d.onnx"),
            ],
            "already a vector",
        ),
    ];
    for (extra, expected) in cases {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let o = run(&extra);
        let err = text(&o.stderr);
        assert!(!o.status.success(), "{extra:?} succeeded");
        assert_eq!(err.lines().count(), 1, "{extra:?}: {err}");
        // One line and no "Epoch 1/50" progress: the run stopped before training.
        assert!(err.contains(expected), "{extra:?}: {err}");
    }
    assert!(!root.join("a.onnx").exists() && !root.join("c.onnx").exists());

    // --base: neither a file nor an application; --weights with a model file.
    let o = graft(&[
        "finetune",
        "--base",
        "ResNet49",
        "--weights",
        "none",
        "--data",
        &p("train"),
        "--out",
        &p("d.onnx"),
    ]);
    let err = text(&o.stderr);
    assert!(!o.status.success() && err.lines().count() == 1, "{err}");
    // What is wrong is the name (no such file or application), not the --weights beside it.
    assert!(
        err.contains("ResNet49") && err.contains("MobileNetV2") && !err.contains("model file"),
        "{err}"
    );
    let o = graft(&[
        "finetune",
        "--base",
        &base,
        "--weights",
        "imagenet",
        "--data",
        &p("train"),
        "--out",
        &p("e.onnx"),
    ]);
    let err = text(&o.stderr);
    assert!(!o.status.success() && err.contains("--weights"), "{err}");
}
