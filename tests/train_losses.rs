//! graft-train's losses and metrics against the values Keras 3 computed on the same arrays
//! (tests/fixtures/keras/train_reference.json, written by scripts/fixtures/train_reference.py).

use graft::Tensor;
use graft::train::{Loss, Metric, MetricState};
use serde_json::Value;

fn reference() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keras/train_reference.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("reference file")).expect("json")
}

fn array(r: &Value, name: &str) -> Vec<f32> {
    r["arrays"][name]
        .as_array()
        .unwrap_or_else(|| panic!("array {name}"))
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

fn tensor(r: &Value, name: &str) -> Tensor {
    let n = r["n"].as_u64().unwrap() as usize;
    let data = array(r, name);
    let shape = if data.len() == n {
        vec![n]
    } else {
        vec![n, data.len() / n]
    };
    Tensor::new(shape, data).unwrap()
}

fn loss_of(case: &Value) -> Loss {
    let from_logits = case["from_logits"].as_bool().unwrap_or(false);
    let label_smoothing = case["label_smoothing"].as_f64().unwrap_or(0.0) as f32;
    match case["loss"].as_str().unwrap() {
        "categorical_crossentropy" => Loss::CategoricalCrossentropy {
            from_logits,
            label_smoothing,
        },
        "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy { from_logits },
        "binary_crossentropy" => Loss::BinaryCrossentropy {
            from_logits,
            label_smoothing,
        },
        "huber" => Loss::Huber {
            delta: case["delta"].as_f64().unwrap() as f32,
        },
        name => Loss::from_keras_name(name).unwrap_or_else(|| panic!("loss {name}")),
    }
}

#[test]
fn losses_match_keras() {
    let r = reference();
    let weights = array(&r, "weights");
    let cases = r["losses"].as_array().unwrap();
    assert!(cases.len() >= 28);
    let mut report = vec![];
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let loss = loss_of(case);
        let y_true = tensor(&r, case["y_true"].as_str().unwrap());
        let y_pred = tensor(&r, case["y_pred"].as_str().unwrap());
        let w = case["weighted"]
            .as_bool()
            .unwrap()
            .then_some(weights.as_slice());
        let ours = loss.compute(&y_true, &y_pred, w).expect(name);
        let keras = case["value"].as_f64().unwrap();
        let rel = (ours - keras).abs() / keras.abs().max(1e-6);
        report.push(format!(
            "{name}: graft {ours:.7} keras {keras:.7} rel {rel:.1e}"
        ));
        assert!(
            rel <= 1e-5,
            "{name}: graft {ours} vs Keras {keras}\n{}",
            report.join("\n")
        );
    }
    println!("{}", report.join("\n"));
}

#[test]
fn metrics_match_keras() {
    let r = reference();
    let k = r["k"].as_u64().unwrap() as usize;
    for case in r["metrics"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let metric = Metric::from_keras_name(case["metric"].as_str().unwrap()).expect(name);
        let sparse = case["sparse"].as_bool().unwrap();
        let mut state = MetricState::new(metric);
        let probs = array(&r, case["y_pred"].as_str().unwrap());
        let targets = array(&r, case["y_true"].as_str().unwrap());
        // Two batches, as fit feeds them: the state accumulates like Keras' update_state.
        let half = r["n"].as_u64().unwrap() as usize / 2;
        let t_split = if sparse { half } else { half * k };
        state.update(&probs[..half * k], k, &targets[..t_split], sparse);
        state.update(&probs[half * k..], k, &targets[t_split..], sparse);
        let keras = case["value"].as_f64().unwrap();
        let ours = state.result();
        assert!(
            (ours - keras).abs() <= 1e-5,
            "{name}: graft {ours} vs Keras {keras}"
        );
    }
}
