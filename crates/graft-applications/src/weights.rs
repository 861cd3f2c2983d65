//! Filling a built graph's weights: Keras' initializers, a file, or the registry.

use graft_hub::{Downloader, Registry, WeightsQuery};
use graft_ir::Graph;
use graft_keras::LoadWeightsOptions;

use crate::error::{ApplicationError, Result};
use crate::options::Weights;

/// What the registry needs to pick a weights file for a built model.
pub(crate) struct Variant {
    /// Keras' builder name, the registry's `architecture`.
    pub architecture: &'static str,
    pub include_top: bool,
    pub alpha: Option<f64>,
    /// Input rows (square inputs of a size with pretrained files), else 224.
    pub rows: Option<usize>,
    pub minimalistic: bool,
}

/// Fills `graph` as `weights` says. `Weights::None` draws Keras' initial values from `seed`;
/// registry weights are fetched by `downloader` (the environment's when `None`).
pub(crate) fn fill(
    graph: &mut Graph,
    weights: &Weights,
    seed: u64,
    v: &Variant,
    downloader: Option<&Downloader>,
) -> Result<()> {
    match weights {
        Weights::None => {
            graph.initialize_missing_weights(seed)?;
        }
        Weights::Path(path) => {
            load_file(graph, path)?;
        }
        Weights::Registry(name) => {
            let registry = Registry::load_default()?;
            let entry = if name == "imagenet" {
                let mut query =
                    WeightsQuery::new(v.architecture, v.include_top).minimalistic(v.minimalistic);
                if let Some(alpha) = v.alpha {
                    query = query.alpha(alpha);
                }
                let rows = v.rows.unwrap_or(224) as u32;
                // Keras falls back to the 224 files for sizes without their own.
                registry
                    .find_query(&query.clone().rows(rows))
                    .or_else(|| registry.find_query(&query.rows(224)))
            } else {
                registry.get(name).filter(|e| {
                    e.architecture.eq_ignore_ascii_case(v.architecture)
                        && e.include_top == v.include_top
                })
            };
            let entry = entry.ok_or_else(|| ApplicationError::NoWeights {
                application: v.architecture.to_string(),
                weights: name.clone(),
                what: format!(
                    "include_top={}, alpha={}, rows={}, minimalistic={}",
                    v.include_top,
                    v.alpha.unwrap_or(1.0),
                    v.rows.unwrap_or(224),
                    v.minimalistic
                ),
            })?;
            let path = match downloader {
                Some(d) => d.fetch_weights(entry)?,
                None => Downloader::from_env()?.fetch_weights(entry)?,
            };
            load_file(graph, &path)?;
        }
    }
    Ok(())
}

/// `model.load_weights(path)`: legacy `.h5` files topologically (as Keras 3 loads the
/// keras-applications files), Keras 3 files by their own structure.
pub(crate) fn load_file(graph: &mut Graph, path: &std::path::Path) -> Result<usize> {
    Ok(graft_keras::load_weights(
        graph,
        path,
        LoadWeightsOptions { by_name: false },
    )?)
}
