//! The files `graft finetune` writes: checked before training, written after.

use std::path::Path;

use anyhow::{Context, bail};
use graft::train::Trainer;

/// Checks an output path before training: a known extension, a writable folder, and no file in
/// the way unless `force`.
pub fn check_output(path: &Path, force: bool) -> anyhow::Result<()> {
    if path.extension().is_none_or(|e| e != "bpk") {
        graft::SaveFormat::from_path(path)?;
    }
    if path.exists() && !force {
        bail!(
            "{}: already exists (use --force to replace it)",
            path.display()
        );
    }
    check_folder_of(path)
}

/// Checks that the folder of `path` exists (or can be made) and is writable.
pub fn check_folder_of(path: &Path) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
    tempfile::Builder::new()
        .prefix(".graft-probe-")
        .tempfile_in(dir)
        .with_context(|| format!("{}: the folder is not writable", dir.display()))?;
    Ok(())
}

/// Writes the trained model in the format `path` names.
pub fn export(trainer: &Trainer, path: &Path, force: bool) -> anyhow::Result<()> {
    if path.extension().is_some_and(|e| e == "bpk") {
        if path.exists() && force {
            std::fs::remove_file(path)?;
        }
        trainer.state().save_weights_record(path)?;
    } else {
        graft::save_graph(&trainer.model().to_graph(), path, force)?;
    }
    Ok(())
}
