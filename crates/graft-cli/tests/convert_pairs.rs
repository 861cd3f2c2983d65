//! `graft convert` for the format pairs cli.rs does not run (h5 -> keras, keras -> onnx,
//! onnx -> h5, keras -> keras, onnx -> onnx), each with `--verify` at the default tolerance.
//!
//! For every pair the test checks what `--verify` printed (one line per output of the source,
//! from the right runtime, each difference within the default 1e-4, which the line states), that
//! nothing but the output is left in the folder, and then checks the output independently of
//! `--verify`: it loads back with graft and, run on the fixture's own inputs, computes the
//! outputs the fixture's framework computed (Keras for the Keras fixtures, onnxruntime for the
//! ONNX ones) within 1e-4 of the largest; an ONNX output is also run in tract. A model converted
//! from ONNX to a Keras file takes NHWC images (convert's default for Keras files), so its
//! inputs and rank-4 outputs are compared transposed.
//!
//! The sources are the small committed fixtures of `tests/fixtures/keras/` (written by Keras 3
//! and tf.keras 2) and `tests/fixtures/onnx/` (written with the onnx package, outputs by
//! onnxruntime).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use graft::Tensor;

/// The rule and `graft convert`'s default `--tolerance`.
const TOLERANCE: f32 = 1e-4;

fn graft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graft"))
        .args(args)
        .output()
        .expect("graft runs")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One `verify output <i>: max |<runtime> - source| = <abs>, relative <rel> (tolerance <t>)`
/// line of convert's output.
#[derive(Debug)]
struct VerifyLine {
    index: usize,
    runtime: String,
    abs: f32,
    rel: f32,
    tolerance: String,
}

fn bad<T>(line: &str) -> T {
    panic!("unexpected verify line: {line}")
}

fn parse_verify(stdout: &str) -> Vec<VerifyLine> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("verify output "))
        .map(|l| {
            let (index, rest) = l.split_once(": max |").unwrap_or_else(|| bad(l));
            let (runtime, rest) = rest.split_once(" - source| = ").unwrap_or_else(|| bad(l));
            let (abs, rest) = rest.split_once(", relative ").unwrap_or_else(|| bad(l));
            let (rel, rest) = rest.split_once(" (tolerance ").unwrap_or_else(|| bad(l));
            let tolerance = rest.strip_suffix(')').unwrap_or_else(|| bad(l));
            VerifyLine {
                index: index.parse().unwrap_or_else(|_| bad(l)),
                runtime: runtime.to_string(),
                abs: abs.parse().unwrap_or_else(|_| bad(l)),
                rel: rel.parse().unwrap_or_else(|_| bad(l)),
                tolerance: tolerance.to_string(),
            }
        })
        .collect()
}

/// A fixture folder: its model file and its inputs and expected outputs from meta.json.
struct Fixture {
    model: PathBuf,
    inputs: Vec<Tensor>,
    outputs: Vec<Tensor>,
}

fn fixture(dir: &str, model: &str) -> Fixture {
    let dir = fixtures().join(dir);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    let arrays = |key: &str| -> Vec<Tensor> {
        meta[key]
            .as_array()
            .expect(key)
            .iter()
            .map(|e| graft::npy::read(dir.join(e["file"].as_str().unwrap())).unwrap())
            .collect()
    };
    Fixture {
        model: dir.join(model),
        inputs: arrays("inputs"),
        outputs: arrays("outputs"),
    }
}

/// A rank-4 tensor moved as `relayout` says; other ranks as they are.
fn moved(t: &Tensor, relayout: Relayout) -> Tensor {
    match (t.shape().len(), relayout) {
        (4, Relayout::ToNhwc) => t.permuted(&[0, 2, 3, 1]).unwrap(),
        (4, Relayout::ToNchw) => t.permuted(&[0, 3, 1, 2]).unwrap(),
        _ => t.clone(),
    }
}

/// `max |actual - expected| <= TOLERANCE * max |expected|`, shapes equal.
fn check_close(what: &str, actual: &Tensor, expected: &Tensor) -> Result<f32, String> {
    if actual.shape() != expected.shape() {
        return Err(format!(
            "{what}: shape {:?}, expected {:?}",
            actual.shape(),
            expected.shape()
        ));
    }
    let scale = expected.data().iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = actual
        .data()
        .iter()
        .zip(expected.data())
        .fold(0f32, |m, (a, e)| {
            let d = (a - e).abs();
            if d.is_nan() { f32::INFINITY } else { m.max(d) }
        });
    let rel = if scale > 0.0 { worst / scale } else { worst };
    if rel > TOLERANCE {
        return Err(format!(
            "{what}: max |diff| = {worst:e}, {rel:e} of max |expected| = {scale:e}"
        ));
    }
    Ok(rel)
}

fn check_all(what: &str, actual: &[Tensor], expected: &[Tensor], failures: &mut Vec<String>) {
    if actual.len() != expected.len() {
        failures.push(format!(
            "{what}: {} outputs, expected {}",
            actual.len(),
            expected.len()
        ));
        return;
    }
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        if let Err(msg) = check_close(&format!("{what} output {i}"), a, e) {
            failures.push(msg);
        }
    }
}

/// One conversion: `graft convert <source> <dir>/<out_name> --verify [extra]`.
struct Pair<'a> {
    source: Fixture,
    out_name: &'a str,
    extra: &'a [&'a str],
    /// How the output's image inputs and rank-4 outputs are laid out against the source's.
    relayout: Relayout,
}

#[derive(Clone, Copy, PartialEq)]
enum Relayout {
    /// As the source.
    Same,
    /// An NCHW (ONNX) source written as a Keras file, which takes NHWC.
    ToNhwc,
    /// An NHWC (Keras) source written with `--layout nchw`.
    ToNchw,
}

/// Runs one pair and checks it; returns what went wrong.
fn run_pair(pair: &Pair, dir: &Path) -> Vec<String> {
    let mut failures = vec![];
    let out_path = dir.join(pair.out_name);
    let mut args = vec![
        "convert",
        pair.source.model.to_str().unwrap(),
        out_path.to_str().unwrap(),
        "--verify",
    ];
    args.extend_from_slice(pair.extra);
    let what = format!("{args:?}");
    let out = graft(&args);
    let stdout = text(&out.stdout);
    if !out.status.success() {
        return vec![format!("{what}: {stdout}\n{}", text(&out.stderr))];
    }
    let to_onnx = pair.out_name.ends_with(".onnx");

    // What --verify printed: every output of the source, in order, from the right runtime,
    // within the default tolerance it states.
    let lines = parse_verify(&stdout);
    let indices: Vec<usize> = lines.iter().map(|l| l.index).collect();
    if indices != (0..pair.source.outputs.len()).collect::<Vec<_>>() {
        failures.push(format!(
            "{what}: verify lines for outputs {indices:?}, the source has {}:\n{stdout}",
            pair.source.outputs.len()
        ));
    }
    let runtime = if to_onnx {
        "tract"
    } else {
        "graft (reading the written file)"
    };
    for l in &lines {
        let ok = l.runtime == runtime
            && l.tolerance == "1.0e-4"
            && l.rel.is_finite()
            && l.rel <= TOLERANCE
            && l.abs.is_finite()
            && l.abs >= 0.0
            && (l.abs == 0.0) == (l.rel == 0.0);
        if !ok {
            failures.push(format!("{what}: {l:?}"));
        }
    }

    // Only the output is left (no temporary files); an ONNX output keeps its weights inline.
    let listing: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    if listing != [pair.out_name] {
        failures.push(format!("{what}: the folder holds {listing:?}"));
    }

    // The output loads back and computes the fixture's outputs.
    let inputs: Vec<Tensor> = pair
        .source
        .inputs
        .iter()
        .map(|t| moved(t, pair.relayout))
        .collect();
    let expected: Vec<Tensor> = pair
        .source
        .outputs
        .iter()
        .map(|t| moved(t, pair.relayout))
        .collect();
    match graft::load_model(&out_path, &graft::default_device()) {
        Ok(model) => match model.predict(&inputs) {
            Ok(outs) => check_all(
                &format!("{what}: loaded back by graft"),
                &outs,
                &expected,
                &mut failures,
            ),
            Err(e) => failures.push(format!("{what}: running the loaded output: {e}")),
        },
        Err(e) => failures.push(format!("{what}: loading the output back: {e}")),
    }
    if to_onnx {
        match graft::onnx::runtime::run(&out_path, &inputs) {
            Ok(outs) => check_all(&format!("{what}: tract"), &outs, &expected, &mut failures),
            Err(e) => failures.push(format!("{what}: tract: {e}")),
        }
    }
    if failures.is_empty() {
        let worst = lines.iter().map(|l| l.rel).fold(0f32, f32::max);
        println!(
            "ok   {} -> {}: {} outputs, verify's worst {worst:.1e}",
            pair.source.model.display(),
            pair.out_name,
            lines.len()
        );
    }
    failures
}

fn run_pairs(pairs: &[Pair]) {
    let mut failures = vec![];
    for pair in pairs {
        // One folder per conversion, so the listing check sees only its output.
        let dir = tempfile::tempdir().unwrap();
        failures.extend(run_pair(pair, dir.path()));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Legacy `.h5` (tf.keras 2 and Keras 3) to a Keras 3 `.keras` archive.
#[test]
fn convert_h5_to_keras() {
    run_pairs(&[
        Pair {
            source: fixture("keras/tfkeras2/conv2d_odd", "model.h5"),
            out_name: "conv2d_odd.keras",
            extra: &[],
            relayout: Relayout::Same,
        },
        Pair {
            source: fixture("keras/keras3/depthwise_separable", "model.h5"),
            out_name: "depthwise_separable.keras",
            extra: &[],
            relayout: Relayout::Same,
        },
    ]);
}

/// A `.keras` archive (two inputs, an image and a vector) to ONNX.
#[test]
fn convert_keras_to_onnx() {
    run_pairs(&[Pair {
        source: fixture("keras/keras3/multi_io", "model.keras"),
        out_name: "multi_io.onnx",
        extra: &[],
        relayout: Relayout::Same,
    }]);
}

/// ONNX (NCHW, its weights in an external data file) to legacy `.h5` for Keras 3 and for
/// tf.keras 2.
#[test]
fn convert_onnx_to_h5() {
    run_pairs(&[
        Pair {
            source: fixture("onnx/ops/external_data", "model.onnx"),
            out_name: "external_data.h5",
            extra: &[],
            relayout: Relayout::ToNhwc,
        },
        Pair {
            source: fixture("onnx/ops/external_data", "model.onnx"),
            out_name: "external_data_tf2.h5",
            extra: &["--keras-dialect", "2"],
            relayout: Relayout::ToNhwc,
        },
    ]);
}

/// `.keras` to `.keras`: a frozen model nested in another written again.
#[test]
fn convert_keras_to_keras() {
    run_pairs(&[Pair {
        source: fixture("keras/keras3/nested_frozen", "model.keras"),
        out_name: "nested_frozen.keras",
        extra: &[],
        relayout: Relayout::Same,
    }]);
}

/// ONNX to ONNX: explicit and automatic convolution pads, and every pooling variant.
#[test]
fn convert_onnx_to_onnx() {
    run_pairs(&[
        Pair {
            source: fixture("onnx/ops/conv_pads", "model.onnx"),
            out_name: "conv_pads.onnx",
            extra: &[],
            relayout: Relayout::Same,
        },
        Pair {
            source: fixture("onnx/ops/pooling", "model.onnx"),
            out_name: "pooling.onnx",
            extra: &[],
            relayout: Relayout::Same,
        },
    ]);
}

/// The default tolerance is the one applied: a conversion whose outputs differ by float
/// rounding (~1e-7 relative) passes `--verify` at the default and fails with status 1 at a
/// tolerance below the difference it printed, naming the output file.
#[test]
fn convert_verify_applies_the_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("keras/keras3/multi_io", "model.keras");
    let ok = dir.path().join("ok.onnx");
    let out = graft(&[
        "convert",
        source.model.to_str().unwrap(),
        ok.to_str().unwrap(),
        "--verify",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let worst = parse_verify(&stdout)
        .iter()
        .map(|l| l.rel)
        .fold(0f32, f32::max);
    assert!(
        worst > 0.0 && worst <= TOLERANCE,
        "the ONNX runtime differs from burn by rounding: {stdout}"
    );
    let strict = dir.path().join("strict.onnx");
    let tolerance = format!("--tolerance={:e}", worst / 2.0);
    let out = graft(&[
        "convert",
        source.model.to_str().unwrap(),
        strict.to_str().unwrap(),
        "--verify",
        &tolerance,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("differs from the source") && stderr.contains("strict.onnx"),
        "{stderr}"
    );
}

/// `--verify` across a layout change (ONNX -> Keras file, `--layout nchw` from Keras) moves exactly
/// the inputs and outputs the layout pass moved, as it reports them: a feature map whose channels
/// equal its height and width (conv_pads' `conv_valid`, 4x4x4) looks the same both ways, and
/// guessing from shapes once compared it untransposed (relative difference ~1.7 on a correct
/// file); a rank-3 input that is no image (gemm_matmul's) is not moved at all.
#[test]
fn convert_verify_square_feature_maps_across_layouts() {
    let mut failures = vec![];
    for (source, out_name, extra, relayout) in [
        (
            fixture("onnx/ops/conv_pads", "model.onnx"),
            "conv_pads.h5",
            &[][..],
            Relayout::ToNhwc,
        ),
        (
            fixture("keras/keras3/conv2d_odd", "model.h5"),
            "conv2d_odd_nchw.onnx",
            &["--layout", "nchw"][..],
            Relayout::ToNchw,
        ),
        // Rank-3 data, no image: nothing to move (the check's 4-D-only relayout leaves it as is).
        (
            fixture("onnx/ops/gemm_matmul", "model.onnx"),
            "gemm_matmul.h5",
            &[][..],
            Relayout::ToNhwc,
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let pair = Pair {
            source,
            out_name,
            extra,
            relayout,
        };
        failures.extend(run_pair(&pair, dir.path()));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
