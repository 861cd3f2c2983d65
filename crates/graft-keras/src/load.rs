//! Opening Keras files: whole models (`.h5`, `.keras`) and weights-only files.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use graft_ir::Graph;
use serde_json::Value;

use crate::config::{self, ClassTree, Dialect};
use crate::error::{KerasError, Reason};
use crate::hdf5io::{self, string_attr, string_list_attr};
use crate::weights::{Matching, legacy, v3};

/// The container a Keras model came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KerasFormat {
    /// `model.save("x.h5")`: HDF5 with `model_config` and `model_weights`.
    LegacyH5,
    /// `model.save("x.keras")`: a zip of `config.json` and `model.weights.h5`.
    KerasV3,
}

/// A model read from a Keras file.
#[derive(Clone, Debug)]
pub struct KerasModel {
    /// The architecture with its weights.
    pub graph: Graph,
    pub format: KerasFormat,
    /// `keras_version` as recorded ("2.21.0", "3.15.1"), when recorded.
    pub keras_version: Option<String>,
    /// Which Keras generation's conventions the config follows.
    pub dialect: Dialect,
}

/// Largest `config.json`/`metadata.json` graft reads from a `.keras` archive.
const MAX_JSON_BYTES: u64 = 256 << 20;

fn sniff(path: &Path) -> Result<[u8; 8], Reason> {
    let mut head = [0u8; 8];
    let mut f = File::open(path).map_err(|e| Reason::Io(e.to_string()))?;
    let mut n = 0;
    while n < 8 {
        match f
            .read(&mut head[n..])
            .map_err(|e| Reason::Io(e.to_string()))?
        {
            0 => break,
            k => n += k,
        }
    }
    Ok(head)
}

fn file_size(path: &Path) -> Result<u64, Reason> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| Reason::Io(e.to_string()))
}

/// Reads a whole Keras model: architecture and weights. The format is detected from the file's
/// content, not its extension.
pub fn load_model(path: impl AsRef<Path>) -> Result<KerasModel, KerasError> {
    let path = path.as_ref();
    let wrap = |r| KerasError::new(path, r);
    let head = sniff(path).map_err(wrap)?;
    let model = if head.starts_with(b"PK\x03\x04") {
        load_keras_zip(path)
    } else {
        load_h5(path)
    }
    .map_err(wrap)?;
    model.graph.validate().map_err(|e| wrap(e.into()))?;
    Ok(model)
}

fn parse_config(text: &str, what: &str, dialect: Dialect) -> Result<config::ParsedModel, Reason> {
    let value: Value = serde_json::from_str(text).map_err(|e| Reason::Json {
        what: what.into(),
        message: e.to_string(),
    })?;
    config::parse_model(&value, dialect)
}

fn load_h5(path: &Path) -> Result<KerasModel, Reason> {
    let file = hdf5io::open(path)?;
    let Some(model_config) = string_attr(&file, "model_config")? else {
        return Err(
            if string_list_attr(&file, "layer_names")?.is_some() || file.link_exists("layers") {
                Reason::WeightsOnly
            } else {
                Reason::Config("no 'model_config' attribute: not a Keras model file".into())
            },
        );
    };
    let keras_version = string_attr(&file, "keras_version")?;
    let dialect = keras_version
        .as_deref()
        .and_then(Dialect::from_version)
        .unwrap_or_else(|| Dialect::sniff(&model_config));
    let parsed = parse_config(&model_config, "'model_config'", dialect)?;
    let mut graph = parsed.graph;
    let weights = file.group("model_weights").map_err(|_| {
        Reason::Weights("no 'model_weights' group (the model was saved without weights)".into())
    })?;
    legacy::load(&mut graph, &weights, file_size(path)?, Matching::ByName)?;
    Ok(KerasModel {
        graph,
        format: KerasFormat::LegacyH5,
        keras_version,
        dialect,
    })
}

fn zip_text(archive: &mut zip::ZipArchive<File>, name: &str) -> Result<Option<String>, Reason> {
    let entry = match archive.by_name(name) {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(Reason::Zip(format!("{name}: {e}"))),
    };
    let mut text = String::new();
    entry
        .take(MAX_JSON_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| Reason::Zip(format!("{name}: {e}")))?;
    Ok(Some(text))
}

fn load_keras_zip(path: &Path) -> Result<KerasModel, Reason> {
    let file = File::open(path).map_err(|e| Reason::Io(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| Reason::Zip(e.to_string()))?;
    let config_text = zip_text(&mut archive, "config.json")?
        .ok_or_else(|| Reason::Zip("no config.json in the archive".into()))?;
    let keras_version = zip_text(&mut archive, "metadata.json")?
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|m| {
            m.get("keras_version")
                .and_then(Value::as_str)
                .map(String::from)
        });
    let dialect = keras_version
        .as_deref()
        .and_then(Dialect::from_version)
        .unwrap_or(Dialect::Keras3);
    let parsed = parse_config(&config_text, "config.json", dialect)?;
    let mut graph = parsed.graph;

    let (temp, size) = extract_weights(&mut archive)?;
    let weights = hdf5io::open(temp.path())?;
    v3::load(&mut graph, Some(&parsed.classes), &weights, size)?;
    Ok(KerasModel {
        graph,
        format: KerasFormat::KerasV3,
        keras_version,
        dialect,
    })
}

/// Copies `model.weights.h5` out of the archive: HDF5 opens paths, not streams. The entry is
/// stored uncompressed, so this is a plain copy; the temporary file is removed on drop.
fn extract_weights(
    archive: &mut zip::ZipArchive<File>,
) -> Result<(tempfile::NamedTempFile, u64), Reason> {
    let mut entry = archive.by_name("model.weights.h5").map_err(|e| match e {
        zip::result::ZipError::FileNotFound => {
            Reason::Zip("no model.weights.h5 in the archive: the model has no weights".into())
        }
        e => Reason::Zip(format!("model.weights.h5: {e}")),
    })?;
    let mut temp = tempfile::Builder::new()
        .prefix(".graft-")
        .suffix(".weights.h5")
        .tempfile()
        .map_err(|e| Reason::Io(format!("cannot create a temporary file: {e}")))?;
    std::io::copy(&mut entry, temp.as_file_mut())
        .map_err(|e| Reason::Zip(format!("model.weights.h5: {e}")))?;
    let size = temp.as_file().metadata().map(|m| m.len()).unwrap_or(0);
    Ok((temp, size))
}

/// How [`load_weights`] matches stored layers with the model's.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadWeightsOptions {
    /// Legacy files: match by layer name instead of by order.
    pub by_name: bool,
}

/// Fills `graph`'s weights from a weights file: a legacy `.h5` (`save_weights`, the
/// keras-applications pretrained files), a Keras 3 `.weights.h5`, or the weights of a whole-model
/// `.h5`/`.keras` file. Returns the number of layers filled.
pub fn load_weights(
    graph: &mut Graph,
    path: impl AsRef<Path>,
    options: LoadWeightsOptions,
) -> Result<usize, KerasError> {
    let path = path.as_ref();
    let wrap = |r| KerasError::new(path, r);
    let head = sniff(path).map_err(wrap)?;
    let filled = if head.starts_with(b"PK\x03\x04") {
        load_keras_zip_weights(graph, path).map_err(wrap)?
    } else {
        load_h5_weights(graph, path, options).map_err(wrap)?
    };
    graph.validate().map_err(|e| wrap(e.into()))?;
    Ok(filled)
}

/// The weights of a `.keras` archive, matched by layer name (the `vars` groups record it).
fn load_keras_zip_weights(graph: &mut Graph, path: &Path) -> Result<usize, Reason> {
    let file = File::open(path).map_err(|e| Reason::Io(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| Reason::Zip(e.to_string()))?;
    let (temp, size) = extract_weights(&mut archive)?;
    let weights = hdf5io::open(temp.path())?;
    v3::load(graph, None, &weights, size)
}

fn load_h5_weights(
    graph: &mut Graph,
    path: &Path,
    options: LoadWeightsOptions,
) -> Result<usize, Reason> {
    let file = hdf5io::open(path)?;
    let size = file_size(path)?;
    let matching = if options.by_name {
        Matching::ByName
    } else {
        Matching::Topological
    };
    if file.link_exists("model_weights") {
        let group = file
            .group("model_weights")
            .map_err(|e| Reason::Hdf5(e.to_string()))?;
        return legacy::load(graph, &group, size, matching);
    }
    if string_list_attr(&file, "layer_names")?.is_some() {
        return legacy::load(graph, &file, size, matching);
    }
    if file.link_exists("layers") {
        return v3::load(graph, None::<&ClassTree>, &file, size);
    }
    Err(Reason::Weights(
        "neither a legacy Keras weights file (no 'layer_names') nor a Keras 3 one (no 'layers')"
            .into(),
    ))
}
