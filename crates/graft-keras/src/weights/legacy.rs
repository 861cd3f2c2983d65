//! Legacy HDF5 weights: `model.save("x.h5")`'s `model_weights` group, `save_weights("x.h5")` and
//! the keras-applications pretrained files (the same layout at the file root).
//!
//! A group lists its layers in `layer_names`; each layer group lists its datasets, in Keras'
//! storage order, in `weight_names`. graft follows those lists and never guesses dataset names.

use graft_ir::Graph;

use super::slots::{Filler, graph_specs, has_weights, layer_slots};
use crate::error::Reason;
use crate::hdf5io::{read_tensor, string_list_attr};

/// How stored layers are matched with the model's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Matching {
    /// In order, skipping layers without weights on both sides (what Keras' `load_weights`
    /// does by default).
    #[default]
    Topological,
    /// By layer name (Keras' `by_name=True`); layers absent from the file are an error.
    ByName,
}

struct StoredLayer {
    name: String,
    group: hdf5::Group,
    weight_names: Vec<String>,
}

/// Fills `graph`'s weights from the legacy layout under `root`. Returns the number of layers
/// filled.
pub fn load(
    graph: &mut Graph,
    root: &hdf5::Group,
    file_size: u64,
    matching: Matching,
) -> Result<usize, Reason> {
    let layer_names = string_list_attr(root, "layer_names")?.ok_or_else(|| {
        Reason::Weights("no 'layer_names' attribute: not a Keras weights group".into())
    })?;
    let mut stored = Vec::new();
    for name in layer_names {
        let group = root.group(&name).map_err(|_| {
            Reason::Weights(format!(
                "'layer_names' lists '{name}' but the file has no such group"
            ))
        })?;
        let weight_names = string_list_attr(&group, "weight_names")?.unwrap_or_default();
        if !weight_names.is_empty() {
            stored.push(StoredLayer {
                name,
                group,
                weight_names,
            });
        }
    }

    let specs = graph_specs(graph)?;
    let mut weighted = Vec::new();
    for i in 0..graph.layers.len() {
        if has_weights(graph, &specs, i)? {
            weighted.push(i);
        }
    }

    let pairs: Vec<(usize, &StoredLayer)> = match matching {
        Matching::Topological => {
            if stored.len() != weighted.len() {
                return Err(Reason::Weights(format!(
                    "the file holds weights for {} layers ({}), the model has {} layers with weights ({})",
                    stored.len(),
                    preview(stored.iter().map(|s| s.name.as_str())),
                    weighted.len(),
                    preview(weighted.iter().map(|&i| graph.layers[i].name.as_str())),
                )));
            }
            weighted.iter().copied().zip(stored.iter()).collect()
        }
        Matching::ByName => weighted
            .iter()
            .map(|&i| {
                let name = &graph.layers[i].name;
                stored
                    .iter()
                    .find(|s| &s.name == name)
                    .map(|s| (i, s))
                    .ok_or_else(|| {
                        Reason::Weights(format!("the file has no weights for layer '{name}'"))
                    })
            })
            .collect::<Result<_, _>>()?,
    };

    let mut filler = Filler::default();
    for (index, s) in pairs {
        let slots = layer_slots(graph, &specs, index)?;
        if slots.len() != s.weight_names.len() {
            return Err(Reason::Weights(format!(
                "layer '{}' stores {} weights ({}) but model layer '{}' ({}) has {} ({})",
                s.name,
                s.weight_names.len(),
                preview(s.weight_names.iter().map(String::as_str)),
                graph.layers[index].name,
                graph.layers[index].op.type_name(),
                slots.len(),
                preview(slots.iter().map(|s| s.name.as_str())),
            )));
        }
        for (slot, weight_name) in slots.iter().zip(&s.weight_names) {
            let ds = s.group.dataset(weight_name).map_err(|_| {
                Reason::weight(
                    &slot.layer_name,
                    weight_name,
                    format!(
                        "listed in the 'weight_names' of '{}' but no such dataset exists",
                        s.name
                    ),
                )
            })?;
            let tensor = read_tensor(&ds, file_size)
                .map_err(|m| Reason::weight(&slot.layer_name, weight_name, m))?;
            filler.put(graph, slot, weight_name, tensor)?;
        }
    }
    filler.finish(graph)
}

/// `a, b, c, ... (12 in all)`.
pub(crate) fn preview<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = names.collect();
    if all.len() <= 6 {
        all.join(", ")
    } else {
        format!("{}, ... ({} in all)", all[..5].join(", "), all.len())
    }
}
