//! Keras 3 weights: `model.weights.h5` inside a `.keras` archive and `.weights.h5` files.
//!
//! Layout: `layers/<key>/vars/<i>`, nested models as `layers/<key>/layers/...`. Keys are the
//! snake-cased class name with a counter (`conv2d`, `conv2d_1`); since Keras 3.6 each `vars`
//! group also records the real layer name in its `name` attribute, which graft prefers.

use std::collections::HashMap;

use graft_ir::{Graph, Op, WeightSpec};
use regex::Regex;

use super::slots::{Filler, graph_specs, layer_slots};
use crate::config::ClassTree;
use crate::error::Reason;
use crate::hdf5io::{read_tensor, string_attr};

/// Fills `graph`'s weights from the Keras 3 layout of `file`. `classes` gives Keras class names
/// for files written before 3.6 (without `name` attributes); without it the IR's type names are
/// used. Returns the number of layers filled.
pub fn load(
    graph: &mut Graph,
    classes: Option<&ClassTree>,
    root: &hdf5::Group,
    file_size: u64,
) -> Result<usize, Reason> {
    let layers = root
        .group("layers")
        .map_err(|_| Reason::Weights("no 'layers' group: not a Keras 3 weights file".into()))?;
    let mut filler = Filler::default();
    visit(
        graph,
        graph,
        classes,
        &layers,
        &mut vec![],
        "",
        file_size,
        &mut filler,
    )?;
    filler.finish(graph)
}

#[allow(clippy::too_many_arguments)]
fn visit(
    top: &Graph,
    graph: &Graph,
    classes: Option<&ClassTree>,
    group: &hdf5::Group,
    path: &mut Vec<usize>,
    prefix: &str,
    file_size: u64,
    filler: &mut Filler,
) -> Result<(), Reason> {
    let by_name = keys_by_layer_name(group)?;
    let fallback = fallback_keys(graph, classes);
    let specs: Vec<Vec<WeightSpec>> = graph_specs(graph)?;
    for (i, layer) in graph.layers.iter().enumerate() {
        let display = format!("{prefix}{}", layer.name);
        let wants = match &layer.op {
            Op::Model(_) => true,
            _ => !specs[i].is_empty(),
        };
        if !wants {
            continue;
        }
        let key = by_name.get(&layer.name).unwrap_or(&fallback[i]);
        let layer_group = group.group(key).map_err(|_| {
            Reason::Weights(format!(
                "no weights for layer '{display}' (looked for group 'layers/{key}')"
            ))
        })?;
        path.push(i);
        if let Op::Model(inner) = &layer.op {
            let inner_layers = layer_group.group("layers").map_err(|_| {
                Reason::Weights(format!("nested model '{display}' has no 'layers' group"))
            })?;
            let inner_classes = classes
                .and_then(|c| c.layers.get(i))
                .and_then(|c| c.nested.as_ref());
            visit(
                top,
                inner,
                inner_classes,
                &inner_layers,
                path,
                &format!("{display}/"),
                file_size,
                filler,
            )?;
        } else {
            let vars = layer_group
                .group("vars")
                .map_err(|_| Reason::Weights(format!("layer '{display}' has no 'vars' group")))?;
            let slots = layer_slots(graph, &specs, i)?;
            let stored = vars
                .member_names()
                .map_err(|e| Reason::Hdf5(e.to_string()))?
                .len();
            if stored != slots.len() {
                return Err(Reason::Weights(format!(
                    "layer '{display}' ({}) stores {stored} weights, graft expects {} ({})",
                    layer.op.type_name(),
                    slots.len(),
                    slots
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            for (k, slot) in slots.iter().enumerate() {
                let mut slot = slot.clone();
                slot.path = path.clone();
                slot.layer_name = display.clone();
                let ds = vars.dataset(&k.to_string()).map_err(|_| {
                    Reason::weight(
                        &display,
                        &slot.name,
                        format!("dataset 'vars/{k}' is missing"),
                    )
                })?;
                let tensor = read_tensor(&ds, file_size)
                    .map_err(|m| Reason::weight(&display, &slot.name, m))?;
                let stored_name = slot.name.clone();
                filler.put(top, &slot, &stored_name, tensor)?;
            }
        }
        path.pop();
    }
    Ok(())
}

/// Real layer name -> group key, from the `name` attributes of the `vars` groups.
fn keys_by_layer_name(group: &hdf5::Group) -> Result<HashMap<String, String>, Reason> {
    let mut map = HashMap::new();
    for key in group
        .member_names()
        .map_err(|e| Reason::Hdf5(e.to_string()))?
    {
        let Ok(child) = group.group(&key) else {
            continue;
        };
        let Ok(vars) = child.group("vars") else {
            continue;
        };
        if let Some(name) = string_attr(&vars, "name")? {
            map.insert(name, key);
        }
    }
    Ok(map)
}

/// The keys Keras derives from class names, in layer order (`conv2d`, `conv2d_1`, ...).
fn fallback_keys(graph: &Graph, classes: Option<&ClassTree>) -> Vec<String> {
    let mut used: HashMap<String, usize> = HashMap::new();
    graph
        .layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let class = classes
                .and_then(|c| c.layers.get(i))
                .map(|c| c.class.clone())
                .unwrap_or_else(|| layer.op.type_name());
            let base = snake_case(&class);
            match used.get_mut(&base) {
                Some(n) => {
                    *n += 1;
                    format!("{base}_{n}")
                }
                None => {
                    used.insert(base.clone(), 0);
                    base
                }
            }
        })
        .collect()
}

/// Keras' `naming.to_snake_case`: `BatchNormalization` -> `batch_normalization`,
/// `ReLU` -> `re_lu`, `Conv2D` -> `conv2d`.
pub(crate) fn snake_case(name: &str) -> String {
    use std::sync::LazyLock;
    static NON_WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\W+").expect("valid"));
    static CAPITALISED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new("(.)([A-Z][a-z]+)").expect("valid"));
    static CAMEL: LazyLock<Regex> = LazyLock::new(|| Regex::new("([a-z])([A-Z])").expect("valid"));
    let name = NON_WORD.replace_all(name, "");
    let name = CAPITALISED.replace_all(&name, "${1}_${2}");
    CAMEL.replace_all(&name, "${1}_${2}").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_like_keras() {
        for (class, key) in [
            ("Conv2D", "conv2d"),
            ("BatchNormalization", "batch_normalization"),
            ("ReLU", "re_lu"),
            ("DepthwiseConv2D", "depthwise_conv2d"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
            ("ZeroPadding2D", "zero_padding2d"),
            ("InputLayer", "input_layer"),
            ("Dense", "dense"),
            ("Functional", "functional"),
        ] {
            assert_eq!(snake_case(class), key, "{class}");
        }
    }
}
