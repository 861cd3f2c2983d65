//! Nested models flattened into their parent: ONNX graphs have no nested models. Inner layers
//! keep their names (prefixed with the nested model's name when a name is taken, and with the
//! call when the model is called more than once, its weights then copied per call).

use std::collections::{HashMap, HashSet};

use graft_ir::{Graph, Layer, Op, TensorRef};

/// `graph` with every `Op::Model` layer replaced by the layers inside it.
pub(crate) fn inline(graph: Graph) -> Graph {
    if !graph.layers.iter().any(|l| matches!(l.op, Op::Model(_))) {
        return graph;
    }
    let mut g = graph;
    let mut taken: HashSet<String> = g.layers.iter().map(|l| l.name.clone()).collect();
    // Outer ref -> inner ref it stands for.
    let mut alias: HashMap<TensorRef, TensorRef> = HashMap::new();
    let mut out_layers = Vec::with_capacity(g.layers.len());
    for layer in std::mem::take(&mut g.layers) {
        let Op::Model(inner) = layer.op else {
            out_layers.push(layer);
            continue;
        };
        let mut inner = inline(*inner);
        let calls = layer.nodes.len();
        for (ci, call) in layer.nodes.iter().enumerate() {
            let prefix = if calls > 1 {
                format!("{}_{ci}", layer.name)
            } else {
                layer.name.clone()
            };
            // Inner name -> new name.
            let mut rename: HashMap<String, String> = HashMap::new();
            for l in &inner.layers {
                if l.is_input() {
                    continue;
                }
                let mut name = if calls > 1 || taken.contains(&l.name) {
                    format!("{prefix}/{}", l.name)
                } else {
                    l.name.clone()
                };
                let base = name.clone();
                let mut k = 1;
                while taken.contains(&name) {
                    name = format!("{base}_{k}");
                    k += 1;
                }
                taken.insert(name.clone());
                rename.insert(l.name.clone(), name);
            }
            // Inner inputs stand for the call's inputs.
            let mut map: HashMap<TensorRef, TensorRef> = HashMap::new();
            for (r, outer) in inner.inputs.iter().zip(&call.inputs) {
                map.insert(r.clone(), outer.clone());
            }
            let fix = |r: &TensorRef, map: &HashMap<TensorRef, TensorRef>| -> TensorRef {
                map.get(r).cloned().unwrap_or_else(|| TensorRef {
                    layer: rename
                        .get(&r.layer)
                        .cloned()
                        .unwrap_or_else(|| r.layer.clone()),
                    node: r.node,
                    output: r.output,
                })
            };
            let last = ci + 1 == calls;
            for l in inner.layers.iter_mut() {
                if l.is_input() {
                    continue;
                }
                let mut nl = Layer {
                    name: rename[&l.name].clone(),
                    op: l.op.clone(),
                    // The last call takes the weights; earlier ones copy them.
                    weights: if last {
                        std::mem::take(&mut l.weights)
                    } else {
                        l.weights.clone()
                    },
                    trainable: l.trainable && layer.trainable,
                    nodes: l.nodes.clone(),
                };
                for n in &mut nl.nodes {
                    n.inputs = n.inputs.iter().map(|r| fix(r, &map)).collect();
                    if n.training.is_none() {
                        n.training = call.training;
                    }
                }
                out_layers.push(nl);
            }
            for (o, r) in inner.outputs.iter().enumerate() {
                alias.insert(TensorRef::at(layer.name.clone(), ci, o), fix(r, &map));
            }
        }
    }
    let resolve = |r: &TensorRef| -> TensorRef {
        let mut r = r.clone();
        while let Some(a) = alias.get(&r) {
            r = a.clone();
        }
        r
    };
    for l in &mut out_layers {
        for n in &mut l.nodes {
            n.inputs = n.inputs.iter().map(resolve).collect();
        }
    }
    g.outputs = g.outputs.iter().map(resolve).collect();
    g.layers = out_layers;
    g
}
