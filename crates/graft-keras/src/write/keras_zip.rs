//! Keras 3's `.keras` archive (`metadata.json`, `config.json`, `model.weights.h5`, stored
//! uncompressed as Keras does) and its weights layout, also used alone for `.weights.h5` files:
//! `layers/<snake_case class>[_<n>]/vars/<i>` with each `vars` group's `name` attribute set to
//! the real layer name, nested models under `layers/<key>/layers/...`.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::json;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use super::h5::{dataset, h5, str_attr};
use super::json::to_python_json;
use super::model_json::{Flavor, Written, model_json};
use super::weights::own_weights;
use super::{atomic, keras_version};
use crate::config::Dialect;
use crate::error::Reason;
use crate::weights::v3::snake_case;

/// Writes the `.keras` archive to `file` (a new, empty file). The weights go through a temporary
/// HDF5 file next to `target`, removed afterwards.
pub(crate) fn write_archive(file: &Path, target: &Path, w: &Written) -> Result<(), Reason> {
    let dialect = Dialect::Keras3;
    let weights = atomic::temp_next_to(target, ".weights.h5")?;
    write_weights(weights.path(), w, dialect)?;
    let config = to_python_json(&model_json(w, dialect, Flavor::KerasV3));
    let metadata = to_python_json(&json!({
        "keras_version": keras_version(dialect),
        "date_saved": date_saved(),
    }));

    let zip_err = |e: zip::result::ZipError| Reason::Zip(e.to_string());
    let io_err = |e: std::io::Error| Reason::Io(format!("write failed: {e}"));
    let out = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(file)
        .map_err(io_err)?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(out));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (name, text) in [("metadata.json", &metadata), ("config.json", &config)] {
        zip.start_file(name, options).map_err(zip_err)?;
        zip.write_all(text.as_bytes()).map_err(io_err)?;
    }
    let size = weights.as_file().metadata().map_err(io_err)?.len();
    zip.start_file(
        "model.weights.h5",
        options.large_file(size >= u64::from(u32::MAX)),
    )
    .map_err(zip_err)?;
    let mut h5 = std::fs::File::open(weights.path()).map_err(io_err)?;
    std::io::copy(&mut h5, &mut zip).map_err(io_err)?;
    zip.finish().map_err(zip_err)?.flush().map_err(io_err)?;
    Ok(())
}

/// Writes Keras 3's weights layout to `file` (a new, empty file).
pub(crate) fn write_weights(file: &Path, w: &Written, dialect: Dialect) -> Result<(), Reason> {
    let f = crate::hdf5io::create(file)?;
    {
        let vars = f.create_group("vars").map_err(h5)?;
        str_attr(&vars, "name", &w.name, true)?;
        let layers = f.create_group("layers").map_err(h5)?;
        write_layers(&layers, w, dialect)?;
    }
    f.close().map_err(h5)
}

/// One group per layer of `model.layers`, keyed as Keras' `_save_container_state` does.
fn write_layers(group: &hdf5::Group, w: &Written, dialect: Dialect) -> Result<(), Reason> {
    let mut used: HashMap<String, usize> = HashMap::new();
    for (index, class) in &w.layers {
        let base = snake_case(class);
        let key = match used.get_mut(&base) {
            Some(n) => {
                *n += 1;
                format!("{base}_{n}")
            }
            None => {
                used.insert(base.clone(), 0);
                base
            }
        };
        let layer = &w.graph.layers[*index];
        let layer_group = group
            .create_group(&key)
            .map_err(|e| Reason::Hdf5(format!("group 'layers/{key}': {e}")))?;
        let vars = layer_group.create_group("vars").map_err(h5)?;
        str_attr(&vars, "name", &layer.name, true)?;
        if let Some(inner) = w.nested.get(index) {
            let inner_layers = layer_group.create_group("layers").map_err(h5)?;
            write_layers(&inner_layers, inner, dialect)?;
            continue;
        }
        for (i, s) in own_weights(w.graph, &w.name, &w.shapes, layer, dialect)?
            .iter()
            .enumerate()
        {
            dataset(&vars, &i.to_string(), &s.tensor, s.int64)
                .map_err(|r| Reason::weight(&layer.name, s.var, r.to_string()))?;
        }
    }
    Ok(())
}

/// `metadata.json`'s `date_saved` (`%Y-%m-%d@%H:%M:%S`, UTC).
fn date_saved() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}@{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
