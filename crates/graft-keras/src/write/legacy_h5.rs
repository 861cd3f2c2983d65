//! Legacy HDF5 files: `model.save("x.h5")` (root attributes `keras_version`, `backend`,
//! `model_config`; weights under `model_weights`) and `model.save_weights("x.h5")` (the same
//! weights layout at the file root), as Keras 3 and tf.keras 2 write them.

use std::path::Path;

use super::h5::{dataset, h5, str_attr, str_list_attr};
use super::json::to_python_json;
use super::model_json::{Flavor, Written, model_json};
use super::weights::legacy_weights;
use super::{BACKEND, keras_version};
use crate::config::Dialect;
use crate::error::Reason;

/// Writes a whole model to `file` (a new, empty file).
pub(crate) fn write_model(file: &Path, w: &Written, dialect: Dialect) -> Result<(), Reason> {
    let f = crate::hdf5io::create(file)?;
    {
        str_attr(&f, "backend", BACKEND, true)?;
        str_attr(&f, "keras_version", keras_version(dialect), true)?;
        let config = to_python_json(&model_json(w, dialect, Flavor::LegacyH5));
        str_attr(&f, "model_config", &config, false)?;
        let group = f.create_group("model_weights").map_err(h5)?;
        write_weights_group(&group, w, dialect)?;
    }
    f.close().map_err(h5)
}

/// Writes the weights of a model to `file` in `save_weights`' layout (a new, empty file).
pub(crate) fn write_weights(file: &Path, w: &Written, dialect: Dialect) -> Result<(), Reason> {
    let f = crate::hdf5io::create(file)?;
    write_weights_group(&f, w, dialect)?;
    f.close().map_err(h5)
}

/// `layer_names`, `backend`, `keras_version`, one group per layer of `model.layers` with its
/// `weight_names` and datasets, and the (empty) `top_level_model_weights`.
fn write_weights_group(group: &hdf5::Group, w: &Written, dialect: Dialect) -> Result<(), Reason> {
    let names: Vec<String> = w
        .layers
        .iter()
        .map(|&(i, _)| w.graph.layers[i].name.clone())
        .collect();
    str_list_attr(group, "layer_names", &names)?;
    str_attr(group, "backend", BACKEND, false)?;
    str_attr(group, "keras_version", keras_version(dialect), false)?;
    // Keras creates the groups in name order so that `a` exists before `a/b`.
    let mut order: Vec<usize> = w.layers.iter().map(|&(i, _)| i).collect();
    order.sort_by(|&a, &b| w.graph.layers[a].name.cmp(&w.graph.layers[b].name));
    for index in order {
        let layer = &w.graph.layers[index];
        let stored = legacy_weights(w.graph, &w.name, &w.shapes, index, dialect)?;
        let layer_group = group
            .create_group(&layer.name)
            .map_err(|e| Reason::Hdf5(format!("group '{}': {e}", layer.name)))?;
        let weight_names: Vec<String> = stored.iter().map(|s| s.legacy_name.clone()).collect();
        str_list_attr(&layer_group, "weight_names", &weight_names)?;
        for s in &stored {
            dataset(&layer_group, &s.legacy_name, &s.tensor, s.int64)
                .map_err(|r| Reason::weight(&layer.name, &s.legacy_name, r.to_string()))?;
        }
    }
    let top = group.create_group("top_level_model_weights").map_err(h5)?;
    str_list_attr(&top, "weight_names", &[])
}
