//! The validation report `graft finetune` and `graft evaluate` end with: accuracy, per-class
//! precision and recall, and the confusion matrix (rows: true class, columns: predicted).

use serde_json::json;

/// Counts of (true, predicted) class pairs.
pub struct Confusion {
    pub classes: Vec<String>,
    /// `matrix[true][predicted]`.
    pub matrix: Vec<Vec<usize>>,
}

impl Confusion {
    /// From true class indices and `[n, k]` (or `[n, 1]` sigmoid) row-major scores.
    pub fn new(classes: Vec<String>, truth: &[usize], scores: &[f32]) -> Self {
        let k = classes.len();
        let mut matrix = vec![vec![0; k]; k];
        // Scores per sample: k, or 1 for a binary model's single sigmoid unit.
        let w = scores.len() / truth.len().max(1);
        for (i, &t) in truth.iter().enumerate() {
            let p = predicted(&scores[i * w..(i + 1) * w]);
            if t < k && p < k {
                matrix[t][p] += 1;
            }
        }
        Self { classes, matrix }
    }

    pub fn total(&self) -> usize {
        self.matrix.iter().flatten().sum()
    }

    pub fn accuracy(&self) -> f64 {
        let right: usize = (0..self.classes.len()).map(|i| self.matrix[i][i]).sum();
        right as f64 / self.total().max(1) as f64
    }

    /// Of the samples predicted as class `c`, the share that are `c` (0 when none is).
    pub fn precision(&self, c: usize) -> f64 {
        let predicted: usize = self.matrix.iter().map(|row| row[c]).sum();
        self.matrix[c][c] as f64 / predicted.max(1) as f64
    }

    /// Of the samples of class `c`, the share predicted as `c`.
    pub fn recall(&self, c: usize) -> f64 {
        let actual: usize = self.matrix[c].iter().sum();
        self.matrix[c][c] as f64 / actual.max(1) as f64
    }

    /// The report as text, Keras/scikit-learn style.
    pub fn render(&self) -> String {
        let width = self
            .classes
            .iter()
            .map(|c| c.len())
            .max()
            .unwrap_or(5)
            .max(9);
        let mut out = format!(
            "validation accuracy: {:.4} ({} of {} images)\n\n{:>width$}  precision  recall  support\n",
            self.accuracy(),
            (0..self.classes.len())
                .map(|i| self.matrix[i][i])
                .sum::<usize>(),
            self.total(),
            "class"
        );
        for (c, name) in self.classes.iter().enumerate() {
            let support: usize = self.matrix[c].iter().sum();
            out.push_str(&format!(
                "{name:>width$}  {:>9.4}  {:>6.4}  {support:>7}\n",
                self.precision(c),
                self.recall(c)
            ));
        }
        out.push_str("\nconfusion matrix (rows: true class, columns: predicted)\n");
        let cell = self.total().to_string().len().max(3);
        let labels: Vec<String> = self
            .classes
            .iter()
            .enumerate()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        let width = labels.iter().map(|l| l.len()).max().unwrap_or(0);
        out.push_str(&format!("{:<width$}", ""));
        for c in 0..self.classes.len() {
            out.push_str(&format!(" {:>cell$}", c));
        }
        out.push('\n');
        for (c, row) in self.matrix.iter().enumerate() {
            out.push_str(&format!("{:<width$}", labels[c]));
            for v in row {
                out.push_str(&format!(" {v:>cell$}"));
            }
            out.push('\n');
        }
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "accuracy": self.accuracy(),
            "classes": self.classes,
            "precision": (0..self.classes.len()).map(|c| self.precision(c)).collect::<Vec<_>>(),
            "recall": (0..self.classes.len()).map(|c| self.recall(c)).collect::<Vec<_>>(),
            "confusion_matrix": self.matrix,
        })
    }
}

/// Index of the largest score (the first on ties); one sigmoid unit means class 1 above 0.5.
pub fn predicted(scores: &[f32]) -> usize {
    if scores.len() == 1 {
        return (scores[0] > 0.5) as usize;
    }
    scores
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv { (i, v) } else { (bi, bv) }
        })
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_rates() {
        let c = Confusion::new(
            vec!["a".into(), "b".into()],
            &[0, 0, 1, 1],
            &[0.9, 0.1, 0.2, 0.8, 0.3, 0.7, 0.6, 0.4],
        );
        assert_eq!(c.matrix, vec![vec![1, 1], vec![1, 1]]);
        assert_eq!(c.accuracy(), 0.5);
        assert_eq!(c.precision(1), 0.5);
        assert!(c.render().contains("confusion matrix"));
    }
}
