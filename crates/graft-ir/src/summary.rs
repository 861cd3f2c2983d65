//! Parameter counts and Keras-style `model.summary()` tables.

use crate::error::IrError;
use crate::graph::{Graph, Layer};
use crate::infer::CallSite;

/// Parameter totals, counted as Keras counts them: a weight is trainable when it is a trainable
/// weight of a layer whose `trainable` is set, in models that are all trainable too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParamCounts {
    pub trainable: usize,
    pub non_trainable: usize,
}

impl ParamCounts {
    /// Both kinds together.
    pub fn total(&self) -> usize {
        self.trainable + self.non_trainable
    }
}

impl Layer {
    /// Every value this layer owns, nested models included.
    pub fn param_count(&self) -> usize {
        let own: usize = self.weights.iter().map(|w| w.tensor.numel()).sum();
        own + self
            .as_model()
            .map(|g| g.param_counts().total())
            .unwrap_or(0)
    }
}

impl Graph {
    /// Trainable and non-trainable parameter totals.
    pub fn param_counts(&self) -> ParamCounts {
        let mut counts = ParamCounts::default();
        for item in self.walk() {
            for w in &item.layer.weights {
                if item.trainable && w.trainable {
                    counts.trainable += w.tensor.numel();
                } else {
                    counts.non_trainable += w.tensor.numel();
                }
            }
        }
        counts
    }

    /// The Keras-style summary table.
    pub fn summary(&self, options: &SummaryOptions) -> Result<String, IrError> {
        let mut rows = Vec::new();
        collect_rows(self, options, 0, &mut rows)?;
        let mut out = format!("Model: \"{}\"\n", self.name);
        out.push_str(&render_table(&rows, options.ascii));
        let counts = self.param_counts();
        let line = |label: &str, n: usize| {
            format!(
                " {label}: {} ({})\n",
                group_digits(n),
                readable_bytes(n * 4)
            )
        };
        out.push_str(&line("Total params", counts.total()));
        out.push_str(&line("Trainable params", counts.trainable));
        out.push_str(&line("Non-trainable params", counts.non_trainable));
        Ok(out)
    }
}

/// How [`Graph::summary`] draws.
#[derive(Clone, Debug, Default)]
pub struct SummaryOptions {
    /// Plain ASCII borders instead of box-drawing characters.
    pub ascii: bool,
    /// List the layers of nested models under them, indented.
    pub expand_nested: bool,
}

struct Row {
    layer: String,
    shape: String,
    params: String,
    connected: Vec<String>,
}

fn collect_rows(
    graph: &Graph,
    options: &SummaryOptions,
    depth: usize,
    rows: &mut Vec<Row>,
) -> Result<(), IrError> {
    let shapes = graph.infer_shapes()?;
    let indent = "  ".repeat(depth);
    for (li, layer) in graph.layers.iter().enumerate() {
        let outputs: Vec<String> = shapes
            .outputs(CallSite { layer: li, node: 0 })
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        let shape = match outputs.len() {
            0 => "?".to_string(),
            1 => outputs[0].clone(),
            _ => format!("[{}]", outputs.join(", ")),
        };
        let mut connected: Vec<String> = layer
            .nodes
            .iter()
            .flat_map(|n| n.inputs.iter().map(|r| r.to_string()))
            .collect();
        if connected.is_empty() {
            connected.push("-".into());
        }
        rows.push(Row {
            layer: format!("{indent}{} ({})", layer.name, layer.op.type_name()),
            shape,
            params: group_digits(layer.param_count()),
            connected,
        });
        if let (true, Some(inner)) = (options.expand_nested, layer.as_model()) {
            collect_rows(inner, options, depth + 1, rows)?;
        }
    }
    Ok(())
}

fn render_table(rows: &[Row], ascii: bool) -> String {
    let headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"];
    let mut widths = headers.map(|h| h.chars().count());
    for r in rows {
        widths[0] = widths[0].max(r.layer.chars().count());
        widths[1] = widths[1].max(r.shape.chars().count());
        widths[2] = widths[2].max(r.params.chars().count());
        for c in &r.connected {
            widths[3] = widths[3].max(c.chars().count());
        }
    }
    // Box pieces: top (left, fill, joint, right), header separator, bottom, vertical bars.
    let (top, mid, bottom, hbar, vbar) = if ascii {
        (
            ["+", "-", "+", "+"],
            ["+", "=", "+", "+"],
            ["+", "-", "+", "+"],
            "|",
            "|",
        )
    } else {
        (
            ["┏", "━", "┳", "┓"],
            ["┡", "━", "╇", "┩"],
            ["└", "─", "┴", "┘"],
            "┃",
            "│",
        )
    };
    let rule = |p: [&str; 4]| {
        let cells: Vec<String> = widths.iter().map(|w| p[1].repeat(w + 2)).collect();
        format!("{}{}{}\n", p[0], cells.join(p[2]), p[3])
    };
    let line = |cells: [&str; 4], bar: &str| {
        let mut s = String::from(bar);
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if i == 2 {
                s.push_str(&format!(" {}{} {bar}", " ".repeat(pad), c));
            } else {
                s.push_str(&format!(" {}{} {bar}", c, " ".repeat(pad)));
            }
        }
        s.push('\n');
        s
    };
    let mut out = rule(top);
    out.push_str(&line(headers, hbar));
    out.push_str(&rule(mid));
    for r in rows {
        for (i, c) in r.connected.iter().enumerate() {
            let cells = if i == 0 {
                [
                    r.layer.as_str(),
                    r.shape.as_str(),
                    r.params.as_str(),
                    c.as_str(),
                ]
            } else {
                ["", "", "", c.as_str()]
            };
            out.push_str(&line(cells, vbar));
        }
    }
    out.push_str(&rule(bottom));
    out
}

/// `25636712` -> `25,636,712`.
pub fn group_digits(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Keras' memory notation: `97.79 MB` (powers of 1024).
pub fn readable_bytes(bytes: usize) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", units[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_like_keras() {
        assert_eq!(group_digits(25_636_712), "25,636,712");
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(100), "100");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(readable_bytes(25_636_712 * 4), "97.80 MB");
        assert_eq!(readable_bytes(53_120 * 4), "207.50 KB");
    }
}
