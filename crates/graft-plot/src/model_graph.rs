//! The drawable form of a model: one box per layer with its Keras-like label, and the edges
//! between them. Built once from a [`Graph`] and shared by the DOT writer and the SVG renderer,
//! so both show exactly the same boxes and edges.

use std::collections::{HashMap, HashSet};

use graft_ir::{CallSite, Graph, Layer, Op, Shape, ShapeMap, TensorRef};

use crate::PlotError;
use crate::options::ModelPlotOptions;

/// One line of a box under its title.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Row {
    /// Two cells side by side: `input:` | `(None, 8)`.
    Pair(String, String),
    /// One cell: `Activation: relu`.
    Single(String),
}

/// One box: a layer.
#[derive(Clone, Debug)]
pub(crate) struct PlotNode {
    /// Unique id: the layer name, prefixed with `outer/` for each enclosing expanded model.
    pub id: String,
    /// `name (ClassName)`, or `ClassName` without layer names.
    pub title: String,
    pub rows: Vec<Row>,
    /// The innermost expanded nested model holding this layer.
    pub cluster: Option<usize>,
}

/// An expanded nested model: a group of boxes.
#[derive(Clone, Debug)]
pub(crate) struct Cluster {
    /// Unique id, prefixed like node ids.
    pub id: String,
    /// `name (Functional)`.
    pub label: String,
    /// The cluster enclosing this one.
    pub parent: Option<usize>,
}

/// Boxes, edges (`from -> to`, indices into `nodes`, no duplicates) and groups.
#[derive(Clone, Debug, Default)]
pub(crate) struct PlotGraph {
    pub nodes: Vec<PlotNode>,
    pub edges: Vec<(usize, usize)>,
    pub clusters: Vec<Cluster>,
}

impl PlotGraph {
    /// The drawable form of `graph`.
    pub fn build(graph: &Graph, opts: &ModelPlotOptions) -> Result<Self, PlotError> {
        let mut b = Builder {
            opts,
            out: PlotGraph::default(),
            seen: HashSet::new(),
        };
        b.add_graph(graph, "", None, true, None)?;
        Ok(b.out)
    }

    /// Whether `ancestor` is `cluster` or encloses it.
    pub fn cluster_within(&self, cluster: Option<usize>, ancestor: usize) -> bool {
        let mut c = cluster;
        while let Some(i) = c {
            if i == ancestor {
                return true;
            }
            c = self.clusters[i].parent;
        }
        false
    }
}

/// Where a layer's values enter and leave the drawing.
enum Ports {
    /// A single box.
    Box(usize),
    /// An expanded nested model: the box of each model input, and of each model output.
    Nested {
        entries: Vec<usize>,
        exits: Vec<usize>,
    },
}

struct Builder<'o> {
    opts: &'o ModelPlotOptions,
    out: PlotGraph,
    seen: HashSet<(usize, usize)>,
}

fn graph_error(graph: &Graph, message: String) -> PlotError {
    PlotError::Graph {
        model: graph.name.clone(),
        message,
    }
}

/// The box a value comes out of.
fn producer(
    graph: &Graph,
    ports: &HashMap<&str, Ports>,
    r: &TensorRef,
) -> Result<usize, PlotError> {
    match ports.get(r.layer.as_str()) {
        Some(Ports::Box(n)) => Ok(*n),
        Some(Ports::Nested { exits, .. }) => exits.get(r.output).copied().ok_or_else(|| {
            graph_error(
                graph,
                format!("nested model '{}' has no output {}", r.layer, r.output),
            )
        }),
        None => Err(graph_error(
            graph,
            format!("'{r}' refers to no layer of the model"),
        )),
    }
}

/// Keras' notation for the shapes of one call: `(None, 8)`, or `[(None, 8), (None, 8)]`.
fn shape_list(shapes: &[Option<&Shape>]) -> String {
    let one = |s: &Option<&Shape>| s.map_or_else(|| "?".to_string(), |s| s.to_string());
    match shapes {
        [s] => one(s),
        _ => format!(
            "[{}]",
            shapes.iter().map(one).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// One label for all calls of a layer: theirs when they agree, else Keras' `multiple`.
fn merge_calls(labels: Vec<String>) -> String {
    match labels.split_first() {
        None => "?".into(),
        Some((first, rest)) if rest.iter().all(|l| l == first) => first.clone(),
        _ => "multiple".into(),
    }
}

fn io_labels(layer: &Layer, li: usize, shapes: &ShapeMap) -> (String, String) {
    let outputs: Vec<String> = (0..layer.nodes.len())
        .map(|ni| {
            let outs = shapes.outputs(CallSite {
                layer: li,
                node: ni,
            });
            match outs {
                Some(o) => shape_list(&o.iter().map(Some).collect::<Vec<_>>()),
                None => "?".into(),
            }
        })
        .collect();
    let output = merge_calls(outputs);
    let input = if layer.nodes.iter().all(|n| n.inputs.is_empty()) {
        // An input layer: Keras shows its own shape on both rows.
        output.clone()
    } else {
        merge_calls(
            layer
                .nodes
                .iter()
                .map(|n| shape_list(&n.inputs.iter().map(|r| shapes.get(r)).collect::<Vec<_>>()))
                .collect(),
        )
    };
    (input, output)
}

impl Builder<'_> {
    fn push_edge(&mut self, from: usize, to: usize) {
        if self.seen.insert((from, to)) {
            self.out.edges.push((from, to));
        }
    }

    /// Adds the boxes and edges of `graph`; returns the ports of its inputs and outputs.
    fn add_graph(
        &mut self,
        graph: &Graph,
        prefix: &str,
        cluster: Option<usize>,
        trainable: bool,
        input_shapes: Option<Vec<Shape>>,
    ) -> Result<(Vec<usize>, Vec<usize>), PlotError> {
        let shapes = if self.opts.show_shapes {
            match input_shapes {
                Some(given) => graph
                    .infer_shapes_for(&given)
                    .or_else(|_| graph.infer_shapes())
                    .ok(),
                None => graph.infer_shapes().ok(),
            }
        } else {
            None
        };
        let mut ports: HashMap<&str, Ports> = HashMap::new();
        for (li, layer) in graph.layers.iter().enumerate() {
            if ports.contains_key(layer.name.as_str()) {
                return Err(graph_error(
                    graph,
                    format!("two layers are named '{}'", layer.name),
                ));
            }
            let id = format!("{prefix}{}", layer.name);
            let layer_trainable = trainable && layer.trainable;
            let class = layer.op.type_name();
            let port = match &layer.op {
                Op::Model(inner) if self.opts.expand_nested => {
                    self.out.clusters.push(Cluster {
                        id: id.clone(),
                        label: format!("{} ({class})", layer.name),
                        parent: cluster,
                    });
                    let c = self.out.clusters.len() - 1;
                    let given = shapes.as_ref().and_then(|s| {
                        let node = layer.nodes.first()?;
                        node.inputs.iter().map(|r| s.get(r).cloned()).collect()
                    });
                    let (entries, exits) =
                        self.add_graph(inner, &format!("{id}/"), Some(c), layer_trainable, given)?;
                    Ports::Nested { entries, exits }
                }
                _ => {
                    let title = if self.opts.show_layer_names {
                        format!("{} ({class})", layer.name)
                    } else {
                        class
                    };
                    let mut rows = vec![];
                    if let Some(s) = &shapes {
                        let (input, output) = io_labels(layer, li, s);
                        rows.push(Row::Pair("input:".into(), input));
                        rows.push(Row::Pair("output:".into(), output));
                    }
                    if self.opts.show_layer_activations
                        && let Some(a) = layer.op.as_activation().or(layer.op.fused_activation())
                    {
                        rows.push(Row::Single(format!("Activation: {a}")));
                    }
                    if self.opts.show_trainable {
                        let yn = if layer_trainable { "Y" } else { "N" };
                        rows.push(Row::Single(format!("Trainable: {yn}")));
                    }
                    self.out.nodes.push(PlotNode {
                        id,
                        title,
                        rows,
                        cluster,
                    });
                    Ports::Box(self.out.nodes.len() - 1)
                }
            };
            ports.insert(&layer.name, port);
        }
        for layer in &graph.layers {
            for node in &layer.nodes {
                for (i, r) in node.inputs.iter().enumerate() {
                    let from = producer(graph, &ports, r).map_err(|e| match e {
                        PlotError::Graph { model, message } => PlotError::Graph {
                            model,
                            message: format!("layer '{}': {message}", layer.name),
                        },
                        e => e,
                    })?;
                    let to = match &ports[layer.name.as_str()] {
                        Ports::Box(n) => *n,
                        Ports::Nested { entries, .. } => match entries.get(i) {
                            Some(&n) => n,
                            None => continue,
                        },
                    };
                    self.push_edge(from, to);
                }
            }
        }
        let ends = |refs: &[TensorRef]| -> Result<Vec<usize>, PlotError> {
            refs.iter().map(|r| producer(graph, &ports, r)).collect()
        };
        Ok((ends(&graph.inputs)?, ends(&graph.outputs)?))
    }
}
