//! Writing a graph to any format graft writes, chosen by the file name — what
//! `ModelCheckpoint`, `graft convert` and `graft finetune --export` share.

use std::path::Path;
use std::sync::Arc;

use graft_ir::Graph;
use graft_keras::{Dialect, KerasFormat};

use crate::error::{Error, Result};

/// The formats graft writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveFormat {
    /// `.onnx` (opset 17).
    Onnx,
    /// `.keras`: Keras 3's zip.
    Keras,
    /// `.h5`: legacy HDF5 in the Keras 3 dialect.
    KerasH5,
    /// `.weights.h5`: Keras 3's weights-only layout.
    KerasWeights,
}

impl SaveFormat {
    /// The format a file name asks for, from its extension.
    pub fn from_path(path: &Path) -> Result<Self> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if name.ends_with(".weights.h5") {
            Ok(Self::KerasWeights)
        } else if name.ends_with(".h5") || name.ends_with(".hdf5") {
            Ok(Self::KerasH5)
        } else if name.ends_with(".keras") {
            Ok(Self::Keras)
        } else if name.ends_with(".onnx") {
            Ok(Self::Onnx)
        } else {
            Err(Error::file(
                path,
                "unknown output format: name the file .onnx, .keras, .h5 or .weights.h5",
            ))
        }
    }
}

/// Writes `graph` (architecture and weights) to `path` in the format its extension names,
/// through a temporary file renamed when complete. An existing file is replaced only when
/// `overwrite` is set.
pub fn save_graph(graph: &Graph, path: impl AsRef<Path>, overwrite: bool) -> Result<()> {
    let path = path.as_ref();
    match SaveFormat::from_path(path)? {
        SaveFormat::Onnx => {
            let options = graft_onnx::SaveOptions {
                overwrite,
                ..Default::default()
            };
            graft_onnx::save_model(graph.clone(), path, &options, &mut |_, _| {})?;
        }
        format => {
            let options = graft_keras::SaveOptions {
                format: if format == SaveFormat::Keras {
                    KerasFormat::KerasV3
                } else {
                    KerasFormat::LegacyH5
                },
                dialect: Dialect::Keras3,
                overwrite,
            };
            if format == SaveFormat::KerasWeights {
                let options = graft_keras::SaveOptions {
                    format: KerasFormat::KerasV3,
                    ..options
                };
                graft_keras::save_weights(graph, path, &options)?;
            } else {
                graft_keras::save_model(graph, path, &options)?;
            }
        }
    }
    Ok(())
}

/// Writes only the weights: `.weights.h5` in Keras 3's layout, `.h5` in `save_weights`' legacy
/// layout. Other formats have no weights-only form, so the whole model is written.
pub fn save_weights(graph: &Graph, path: impl AsRef<Path>, overwrite: bool) -> Result<()> {
    let path = path.as_ref();
    let format = match SaveFormat::from_path(path)? {
        SaveFormat::KerasWeights => KerasFormat::KerasV3,
        SaveFormat::KerasH5 => KerasFormat::LegacyH5,
        _ => return save_graph(graph, path, overwrite),
    };
    let options = graft_keras::SaveOptions {
        format,
        dialect: Dialect::Keras3,
        overwrite,
    };
    graft_keras::save_weights(graph, path, &options)?;
    Ok(())
}

/// A saver for [`graft_train::callbacks::ModelCheckpoint`]: `.keras`, `.h5`, `.weights.h5` and
/// `.onnx` checkpoints (burn's `.bpk` records need none). A checkpoint replaces the previous
/// one of the same name, as in Keras.
pub fn checkpoint_saver() -> graft_train::callbacks::ModelSaver {
    Arc::new(|graph: &Graph, path: &Path, weights_only: bool| {
        let written = if weights_only {
            save_weights(graph, path, true)
        } else {
            save_graph(graph, path, true)
        };
        written.map_err(|e| e.to_string())
    })
}

/// Keras' `ModelCheckpoint(filepath)` with graft's savers installed: the format follows the
/// extension of `template` (`.keras`, `.h5`, `.weights.h5`, `.onnx`, or burn's `.bpk`).
pub fn model_checkpoint(template: impl Into<String>) -> graft_train::callbacks::ModelCheckpoint {
    graft_train::callbacks::ModelCheckpoint::new(template).saver(checkpoint_saver())
}
