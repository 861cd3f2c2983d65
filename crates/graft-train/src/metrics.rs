//! Metrics with Keras' names and definitions, accumulated over an epoch on the host.
//!
//! As in Keras 3, `metrics` are not weighted by sample weights (only the loss is).

use crate::loss::Loss;

/// A metric to track during training and evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum Metric {
    /// Keras' `"accuracy"`: sparse, categorical or binary accuracy depending on the loss and
    /// the output width.
    Accuracy,
    /// Top-k categorical accuracy.
    TopK(usize),
    /// Precision at threshold 0.5 over every (sample, class) entry.
    Precision,
    /// Recall at threshold 0.5 over every (sample, class) entry.
    Recall,
    /// Area under the ROC curve, 200 thresholds, trapezoidal, as Keras' `AUC()`.
    Auc,
}

impl Metric {
    /// Parses Keras' spelling: `accuracy`/`acc`, `top_k_categorical_accuracy` (k = 5) or
    /// `top_3_accuracy`, `precision`, `recall`, `auc`.
    pub fn from_keras_name(name: &str) -> Option<Self> {
        Some(match name {
            "accuracy" | "acc" => Metric::Accuracy,
            "precision" => Metric::Precision,
            "recall" => Metric::Recall,
            "auc" => Metric::Auc,
            "top_k_categorical_accuracy" | "sparse_top_k_categorical_accuracy" => Metric::TopK(5),
            other => {
                let k = other
                    .strip_prefix("top_")?
                    .strip_suffix("_accuracy")?
                    .parse()
                    .ok()?;
                Metric::TopK(k)
            }
        })
    }

    /// The key in the logs.
    pub fn name(&self, loss: &Loss) -> String {
        match self {
            Metric::Accuracy => "accuracy".into(),
            Metric::TopK(5) if loss.is_sparse() => "sparse_top_k_categorical_accuracy".into(),
            Metric::TopK(5) => "top_k_categorical_accuracy".into(),
            Metric::TopK(k) => format!("top_{k}_accuracy"),
            Metric::Precision => "precision".into(),
            Metric::Recall => "recall".into(),
            Metric::Auc => "auc".into(),
        }
    }
}

const AUC_THRESHOLDS: usize = 200;

/// Running totals of one metric.
#[derive(Clone, Debug)]
pub struct MetricState {
    metric: Metric,
    correct: f64,
    total: f64,
    tp: f64,
    fp: f64,
    fn_: f64,
    /// Per threshold: true positives, false positives, true negatives, false negatives.
    curve: Vec<[f64; 4]>,
}

impl MetricState {
    pub fn new(metric: Metric) -> Self {
        let curve = if metric == Metric::Auc {
            vec![[0.0; 4]; AUC_THRESHOLDS]
        } else {
            vec![]
        };
        Self {
            metric,
            correct: 0.0,
            total: 0.0,
            tp: 0.0,
            fp: 0.0,
            fn_: 0.0,
            curve,
        }
    }

    /// Adds a batch: `probs` `[n, k]` row-major probabilities (or scores), `targets` as given to
    /// the loss (`[n]` class indices when `sparse`, else `[n, k]`).
    pub fn update(&mut self, probs: &[f32], k: usize, targets: &[f32], sparse: bool) {
        let n = probs.len().checked_div(k).unwrap_or(0);
        // One-hot view of the targets for the entry-wise metrics.
        let target_at = |i: usize, j: usize| -> f32 {
            if sparse {
                (targets[i] as usize == j) as u8 as f32
            } else {
                targets[i * k + j]
            }
        };
        let argmax = |row: &[f32]| {
            (0..row.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0)
        };
        match self.metric {
            Metric::Accuracy => {
                if k == 1 || (!sparse && k > 1 && is_multilabel(targets, n, k)) {
                    // Binary accuracy: threshold 0.5, entry by entry.
                    for i in 0..n {
                        for j in 0..k {
                            let pred = (probs[i * k + j] > 0.5) as u8 as f32;
                            self.correct += (pred == target_at(i, j).round()) as u8 as f64;
                            self.total += 1.0;
                        }
                    }
                } else {
                    for i in 0..n {
                        let row = &probs[i * k..(i + 1) * k];
                        let truth = if sparse {
                            targets[i] as usize
                        } else {
                            argmax(&targets[i * k..(i + 1) * k])
                        };
                        self.correct += (argmax(row) == truth) as u8 as f64;
                        self.total += 1.0;
                    }
                }
            }
            Metric::TopK(top) => {
                for i in 0..n {
                    let row = &probs[i * k..(i + 1) * k];
                    let truth = if sparse {
                        targets[i] as usize
                    } else {
                        argmax(&targets[i * k..(i + 1) * k])
                    };
                    // In the top k when fewer than k scores beat the true class's.
                    let score = row[truth.min(k - 1)];
                    let better = row.iter().filter(|&&s| s > score).count();
                    self.correct += (better < top) as u8 as f64;
                    self.total += 1.0;
                }
            }
            Metric::Precision | Metric::Recall => {
                for i in 0..n {
                    for j in 0..k {
                        let pred = probs[i * k + j] > 0.5;
                        let truth = target_at(i, j) > 0.5;
                        match (pred, truth) {
                            (true, true) => self.tp += 1.0,
                            (true, false) => self.fp += 1.0,
                            (false, true) => self.fn_ += 1.0,
                            (false, false) => {}
                        }
                    }
                }
            }
            Metric::Auc => {
                let thresholds = auc_thresholds();
                for i in 0..n {
                    for j in 0..k {
                        let p = probs[i * k + j] as f64;
                        let truth = target_at(i, j) > 0.5;
                        for (t, counts) in thresholds.iter().zip(self.curve.iter_mut()) {
                            let pos = p > *t;
                            let slot = match (pos, truth) {
                                (true, true) => 0,
                                (true, false) => 1,
                                (false, false) => 2,
                                (false, true) => 3,
                            };
                            counts[slot] += 1.0;
                        }
                    }
                }
            }
        }
    }

    /// The metric over everything seen.
    pub fn result(&self) -> f64 {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        match self.metric {
            Metric::Accuracy | Metric::TopK(_) => ratio(self.correct, self.total),
            Metric::Precision => ratio(self.tp, self.tp + self.fp),
            Metric::Recall => ratio(self.tp, self.tp + self.fn_),
            Metric::Auc => {
                let rates: Vec<(f64, f64)> = self
                    .curve
                    .iter()
                    .map(|[tp, fp, tn, fn_]| (ratio(*fp, fp + tn), ratio(*tp, tp + fn_)))
                    .collect();
                rates
                    .windows(2)
                    .map(|w| (w[0].0 - w[1].0) * (w[0].1 + w[1].1) / 2.0)
                    .sum()
            }
        }
    }
}

/// Keras' AUC thresholds: `[-eps, 1/(n-1), ..., (n-2)/(n-1), 1+eps]`.
fn auc_thresholds() -> Vec<f64> {
    let n = AUC_THRESHOLDS;
    let eps = 1e-7;
    let mut t = vec![-eps];
    t.extend((0..n - 2).map(|i| (i + 1) as f64 / (n - 1) as f64));
    t.push(1.0 + eps);
    t
}

/// Targets with several ones in a row are multi-label (binary accuracy applies).
fn is_multilabel(targets: &[f32], n: usize, k: usize) -> bool {
    (0..n).any(|i| {
        targets[i * k..(i + 1) * k]
            .iter()
            .filter(|&&v| v > 0.5)
            .count()
            != 1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(metric: Metric, probs: &[f32], k: usize, targets: &[f32], sparse: bool) -> f64 {
        let mut s = MetricState::new(metric);
        s.update(probs, k, targets, sparse);
        s.result()
    }

    #[test]
    fn accuracy_variants() {
        let probs = [0.1, 0.7, 0.2, 0.6, 0.3, 0.1];
        assert_eq!(run(Metric::Accuracy, &probs, 3, &[1.0, 2.0], true), 0.5);
        assert_eq!(
            run(
                Metric::Accuracy,
                &probs,
                3,
                &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
                false
            ),
            1.0
        );
        assert_eq!(
            run(Metric::Accuracy, &[0.2, 0.9], 1, &[0.0, 0.0], false),
            0.5
        );
        assert_eq!(run(Metric::TopK(2), &probs, 3, &[2.0, 1.0], true), 1.0);
    }

    #[test]
    fn auc_of_a_perfect_and_a_random_ranking() {
        let perfect = run(
            Metric::Auc,
            &[0.9, 0.8, 0.2, 0.1],
            1,
            &[1.0, 1.0, 0.0, 0.0],
            false,
        );
        assert!((perfect - 1.0).abs() < 1e-9, "{perfect}");
        let inverted = run(
            Metric::Auc,
            &[0.1, 0.2, 0.8, 0.9],
            1,
            &[1.0, 1.0, 0.0, 0.0],
            false,
        );
        assert!(inverted.abs() < 1e-9, "{inverted}");
    }

    #[test]
    fn names() {
        assert_eq!(
            Metric::from_keras_name("top_3_accuracy"),
            Some(Metric::TopK(3))
        );
        assert_eq!(Metric::from_keras_name("acc"), Some(Metric::Accuracy));
        assert!(Metric::from_keras_name("f1").is_none());
    }
}
