//! Graphviz DOT text of the layer graph, as `keras.utils.model_to_dot` writes it: record nodes
//! with Keras-like labels, one edge per connected pair of layers, and a `cluster_` subgraph per
//! expanded nested model.

use std::fmt::Write;

use graft_ir::Graph;

use crate::PlotError;
use crate::model_graph::{PlotGraph, Row};
use crate::options::{ModelPlotOptions, RankDir};

/// A DOT double-quoted string: `"` and `\` escaped, newlines as spaces.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text of one record field, ready to sit inside a double-quoted label: the record syntax
/// characters `{ } | < >` and `\` escaped with a backslash, `"` as `\"`, newlines as spaces.
fn field(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '{' | '}' | '|' | '<' | '>' | '\\' | '"' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// The record label of a box, without its surrounding quotes: its title and rows stacked vertically whatever the rank direction
/// (braces flip a record's direction, and records lie across the rank direction).
fn record_label(title: &str, rows: &[Row], rankdir: RankDir) -> String {
    let mut fields = vec![field(title)];
    for row in rows {
        fields.push(match row {
            Row::Pair(a, b) => format!("{{{}|{}}}", field(a), field(b)),
            Row::Single(a) => field(a),
        });
    }
    let body = fields.join("|");
    match rankdir {
        RankDir::TB => format!("{{{body}}}"),
        RankDir::LR => body,
    }
}

/// DOT text of a model, like Keras' `model_to_dot(...).to_string()`.
pub fn model_to_dot(graph: &Graph, opts: &ModelPlotOptions) -> Result<String, PlotError> {
    let pg = PlotGraph::build(graph, opts)?;
    let mut out = String::new();
    out.push_str("digraph G {\n");
    let _ = writeln!(out, "  rankdir={};", opts.rankdir);
    out.push_str("  concentrate=true;\n  dpi=");
    let _ = writeln!(out, "{};", opts.dpi);
    out.push_str("  node [shape=record];\n");
    write_cluster(&pg, None, opts, 1, &mut out);
    for &(a, b) in &pg.edges {
        let _ = writeln!(
            out,
            "  {} -> {};",
            quote(&pg.nodes[a].id),
            quote(&pg.nodes[b].id)
        );
    }
    out.push_str("}\n");
    Ok(out)
}

/// The nodes directly in `cluster` (the top level for `None`), then its sub-clusters.
fn write_cluster(
    pg: &PlotGraph,
    cluster: Option<usize>,
    opts: &ModelPlotOptions,
    depth: usize,
    out: &mut String,
) {
    let indent = "  ".repeat(depth);
    for node in pg.nodes.iter().filter(|n| n.cluster == cluster) {
        let _ = writeln!(
            out,
            "{indent}{} [label=\"{}\"];",
            quote(&node.id),
            record_label(&node.title, &node.rows, opts.rankdir)
        );
    }
    for (i, c) in pg.clusters.iter().enumerate() {
        if c.parent != cluster {
            continue;
        }
        let _ = writeln!(
            out,
            "{indent}subgraph {} {{",
            quote(&format!("cluster_{}", c.id))
        );
        let _ = writeln!(out, "{indent}  label={};", quote(&c.label));
        let _ = writeln!(out, "{indent}  style=dashed;");
        write_cluster(pg, Some(i), opts, depth + 1, out);
        let _ = writeln!(out, "{indent}}}");
    }
}
