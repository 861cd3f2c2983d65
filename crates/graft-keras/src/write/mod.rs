//! Keras files from the IR: legacy `.h5` models in the Keras 3 or the tf.keras 2 dialect, Keras
//! 3 `.keras` archives, and weights-only files (`save_weights`' legacy layout, or Keras 3's
//! `.weights.h5`), written so that `keras.models.load_model` (or `tf_keras.models.load_model`)
//! rebuilds the same model, and graft reads back the same layers and bit-identical weights.
//!
//! Every write first checks that the target Keras can express each layer ([`check_expressible`]
//! runs that check alone) and fails before touching the disk otherwise, naming the layer and the
//! reason. Files are written to a temporary file in the target folder and renamed into place
//! when complete; an existing file is kept unless [`SaveOptions::overwrite`].
//!
//! A graph is written as it is, after rewrites that keep what it computes (see [`SaveReport`]):
//! a channels-first graph (ONNX, PyTorch) is first converted to channels-last by the IR's layout
//! pass ([`graft_ir::layout`], keeping the declared layout of its inputs and outputs: run the pass
//! yourself with [`graft_ir::layout::Boundary::Convert`] for a model that takes NHWC images), since
//! TensorFlow cannot run channels-first convolutions on a CPU; explicit padding becomes
//! `'same'`/`'valid'` or a `ZeroPadding` layer; Keras 3 names lose their `/`.
//!
//! ```no_run
//! use graft_keras::{Dialect, KerasFormat, SaveOptions};
//!
//! let model = graft_keras::load_model("resnet50.h5")?;
//! let options = SaveOptions { format: KerasFormat::LegacyH5, dialect: Dialect::TfKeras2, overwrite: true };
//! graft_keras::save_model(&model.graph, "resnet50_tf2.h5", &options)?;
//! # Ok::<(), graft_keras::KerasError>(())
//! ```

mod activation;
mod atomic;
mod h5;
mod json;
mod keras_zip;
mod layers;
mod legacy_h5;
mod legalize;
mod model_json;
mod padding;
mod preprocessing_json;
mod weights;

use std::borrow::Cow;
use std::path::Path;

use graft_ir::layout::{Boundary, LayoutOptions};
use graft_ir::{DataFormat, Graph, Op};

use crate::config::Dialect;
use crate::error::{KerasError, Reason};
use crate::load::KerasFormat;
use model_json::describe;

/// The `backend` Keras records.
const BACKEND: &str = "tensorflow";

/// The `keras_version` written: the Keras releases whose files these writers reproduce (and
/// which the tests load them with).
fn keras_version(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Keras3 => "3.15.1",
        Dialect::TfKeras2 => "2.21.0",
    }
}

/// What to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveOptions {
    /// Legacy HDF5 (`model.save("x.h5")`) or Keras 3's `.keras` zip. For weights only: the
    /// legacy `save_weights` layout or Keras 3's `.weights.h5` layout.
    pub format: KerasFormat,
    /// Which Keras generation's conventions to follow. `.keras` files are Keras 3 only.
    pub dialect: Dialect,
    /// Replace an existing file (otherwise it is kept and the write fails).
    pub overwrite: bool,
}

impl Default for SaveOptions {
    /// A Keras 3 `.keras` archive that never replaces an existing file.
    fn default() -> Self {
        Self {
            format: KerasFormat::KerasV3,
            dialect: Dialect::Keras3,
            overwrite: false,
        }
    }
}

/// What a successful write did besides writing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaveReport {
    /// One line per rewrite Keras needed (a padding spelled differently, a `ZeroPadding` layer
    /// added, a layer renamed); empty when the graph was written as it is.
    pub notes: Vec<String>,
}

/// Fails, before anything is written, when Keras of `dialect` cannot express a layer of
/// `graph` (the reason names the layer, `/`-joined through nested models). Rewrites that keep
/// the computation (see [`SaveReport`]) do not count as failures.
pub fn check_expressible(graph: &Graph, dialect: Dialect) -> Result<(), Reason> {
    let prepared = prepare(graph, dialect)?;
    describe(
        &prepared.graph,
        &model_name(graph, dialect),
        true,
        dialect,
        "",
    )?;
    Ok(())
}

/// Writes `graph` with its weights as a Keras model file.
pub fn save_model(
    graph: &Graph,
    path: impl AsRef<Path>,
    options: &SaveOptions,
) -> Result<SaveReport, KerasError> {
    let path = path.as_ref();
    let wrap = |r| KerasError::new(path, r);
    if options.format == KerasFormat::KerasV3 && options.dialect != Dialect::Keras3 {
        return Err(wrap(Reason::Config(
            ".keras archives are Keras 3's format; write tf.keras 2 models as legacy .h5".into(),
        )));
    }
    write_described(graph, path, options, |file, written| match options.format {
        KerasFormat::LegacyH5 => legacy_h5::write_model(file, written, options.dialect),
        KerasFormat::KerasV3 => keras_zip::write_archive(file, path, written),
    })
}

/// Writes only the weights of `graph`: with [`KerasFormat::LegacyH5`] in `save_weights`' layout
/// (what tf.keras' `model.save_weights("x.h5")` writes, loadable by `load_weights` in both Keras
/// generations), with [`KerasFormat::KerasV3`] in Keras 3's `.weights.h5` layout.
pub fn save_weights(
    graph: &Graph,
    path: impl AsRef<Path>,
    options: &SaveOptions,
) -> Result<SaveReport, KerasError> {
    let path = path.as_ref();
    write_described(graph, path, options, |file, written| match options.format {
        KerasFormat::LegacyH5 => legacy_h5::write_weights(file, written, options.dialect),
        KerasFormat::KerasV3 => keras_zip::write_weights(file, written, options.dialect),
    })
}

/// What [`save_model`] and [`save_weights`] share: refuse an existing target (unless
/// overwriting), legalise the graph for the dialect, describe it as Keras would, and let `write`
/// fill a temporary file that is renamed into place when complete.
fn write_described(
    graph: &Graph,
    path: &Path,
    options: &SaveOptions,
    write: impl FnOnce(&Path, &model_json::Written<'_>) -> Result<(), Reason>,
) -> Result<SaveReport, KerasError> {
    let wrap = |r| KerasError::new(path, r);
    atomic::check_target(path, options.overwrite).map_err(wrap)?;
    let prepared = prepare(graph, options.dialect).map_err(wrap)?;
    let written = describe(
        &prepared.graph,
        &model_name(graph, options.dialect),
        true,
        options.dialect,
        "",
    )
    .map_err(wrap)?;
    write_file(path, options, |file| write(file, &written)).map_err(wrap)?;
    Ok(SaveReport {
        notes: prepared.notes,
    })
}

fn model_name(graph: &Graph, dialect: Dialect) -> String {
    let name = if graph.name.is_empty() {
        "model"
    } else {
        &graph.name
    };
    legalize::keras_name(name, dialect)
}

/// Writes through a temporary file next to `path`, renamed into place when `write` succeeds.
fn write_file(
    path: &Path,
    options: &SaveOptions,
    write: impl FnOnce(&Path) -> Result<(), Reason>,
) -> Result<(), Reason> {
    let temp = atomic::temp_next_to(path, ".partial")?;
    write(temp.path())?;
    atomic::persist(temp, path, options.overwrite)
}

/// True when a spatial op of `graph` (or of a nested model) is channels-first.
fn has_channels_first(graph: &Graph) -> bool {
    graph.walk().iter().any(|item| {
        let format = match &item.layer.op {
            Op::Conv(c) => c.data_format,
            Op::DepthwiseConv(c) => c.data_format,
            Op::SeparableConv(c) => c.data_format,
            Op::Pool(c) => c.data_format,
            Op::GlobalPool(c) => c.data_format,
            Op::ZeroPadding(c) => c.data_format,
            Op::Cropping(c) => c.data_format,
            Op::UpSampling(c) => c.data_format,
            _ => DataFormat::ChannelsLast,
        };
        format == DataFormat::ChannelsFirst
    })
}

/// A graph Keras can express layer for layer, and the rewrites that made it so.
struct Prepared<'g> {
    graph: Cow<'g, Graph>,
    notes: Vec<String>,
}

fn prepare(graph: &Graph, dialect: Dialect) -> Result<Prepared<'_>, Reason> {
    graph.validate()?;
    let mut notes = Vec::new();
    // Only a graph that needs rewriting is copied (weights and all).
    let mut rewritten = if has_channels_first(graph) {
        let options = LayoutOptions::both(Boundary::Keep);
        let g = graft_ir::layout::to_channels_last(graph.clone(), &options)?;
        notes.push(
            "converted to channels-last (TensorFlow runs no channels-first convolution on a CPU); \
             inputs and outputs keep their channels-first layout"
                .into(),
        );
        Some(g)
    } else {
        None
    };
    if rewritten.is_none() && legalize::needed(graph, dialect) {
        rewritten = Some(graph.clone());
    }
    if let Some(g) = rewritten.as_mut() {
        legalize::legalize(g, dialect, &mut notes)?;
        g.validate()?;
    }
    if dialect == Dialect::Keras3 {
        fixed_training_calls(graph, "", &mut notes);
    }
    Ok(Prepared {
        graph: rewritten.map_or(Cow::Borrowed(graph), Cow::Owned),
        notes,
    })
}

/// Notes each call that fixes `training=` (a tf.keras 2 `base(x, training=False)`): the file
/// records it, but Keras 3 overrides it with the model's own `training` at run time, so the
/// written model trains differently (inference is the same).
fn fixed_training_calls(graph: &Graph, prefix: &str, notes: &mut Vec<String>) {
    for layer in &graph.layers {
        let name = format!("{prefix}{}", layer.name);
        if let Some(t) = layer.nodes.iter().find_map(|n| n.training) {
            notes.push(format!(
                "'{name}' is called with training={}; Keras 3 overrides that with the model's own \
                 `training` when it runs (inference is unchanged)",
                if t { "True" } else { "False" }
            ));
        }
        if let Op::Model(inner) = &layer.op {
            fixed_training_calls(inner, &format!("{name}/"), notes);
        }
    }
}

#[cfg(test)]
mod tests;
