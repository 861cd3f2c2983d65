//! graft-hub: the pretrained-weights registry and a download cache that never leaves a file
//! half-written.
//!
//! - [`Registry`] reads `models/registry.toml`: every keras.applications weights file with its
//!   URL, published hash, architecture, input size and preprocessing.
//! - [`Downloader::fetch`] works like `keras.utils.get_file(..., cache_subdir="models",
//!   file_hash=...)`: cache in `$GRAFT_HOME/models` (default `~/.cache/graft/models`), reuse of
//!   Keras' cache (`$KERAS_HOME/models`, default `~/.keras/models`, read-only), hash check
//!   (a 64-digit hash is sha256, otherwise md5), resume with HTTP ranges, retries with backoff,
//!   an offline mode (`GRAFT_OFFLINE=1`), data renamed into place only after verification.
//! - [`extract_archive`] unpacks a downloaded tar, tar.gz or zip dataset the way
//!   `get_file(..., extract=True)` does (into `<stem>_extracted`), never half-done.
//! - [`download`] and [`applications`] back `graft download` and `graft applications`.
//!
//! ```no_run
//! use graft_hub::{Downloader, Registry};
//! let registry = Registry::load_default()?;
//! let entry = registry.find("ResNet50", false, None, None).expect("in the registry");
//! let path = Downloader::from_env()?.fetch_weights(entry)?;
//! println!("{} ({} preprocessing)", path.display(), entry.preprocessing);
//! # Ok::<(), graft_hub::HubError>(())
//! ```

#![warn(missing_docs)]

mod cache;
mod class_index;
mod error;
mod extract;
mod fetch;
mod hash;
mod http;
mod progress;
mod registry;

use std::path::PathBuf;

pub use cache::{Cache, CacheState, DATASETS_SUBDIR, LOCK_SUFFIX, MODELS_SUBDIR, PART_SUFFIX};
pub use class_index::{imagenet_class_index, read_class_index};
pub use error::{HubError, Result};
pub use extract::{ArchiveFormat, EXTRACTED_STAMP, Extracted, extract_archive, extraction_dir_for};
pub use fetch::{Downloader, FetchOptions, FetchRequest};
pub use hash::{FileHash, HashAlgorithm, hash_file};
pub use registry::{
    FileEntry, IMAGENET_CLASS_INDEX, Preprocessing, Registry, WeightsEntry, WeightsQuery,
};

/// A registry weights entry with what the caches hold for it (a row of `graft applications`).
#[derive(Debug, Clone, PartialEq)]
pub struct EntryStatus<'a> {
    /// The registry entry.
    pub entry: &'a WeightsEntry,
    /// Its cache state (found without hashing; the hash is checked when fetched).
    pub state: CacheState,
}

/// Every weights entry of `registry` with its cache state, in registry order.
pub fn applications<'a>(registry: &'a Registry, cache: &Cache) -> Vec<EntryStatus<'a>> {
    registry
        .weights()
        .iter()
        .map(|entry| EntryStatus {
            entry,
            state: cache.state(&entry.file_name),
        })
        .collect()
}

impl Downloader {
    /// `graft download TARGET [--hash H]`: `target` is a registry name (weights or data file) or
    /// an http(s) URL (cached under the last segment of its path, like `get_file(origin=...)`).
    ///
    /// `hash` (md5 or sha256 hex, auto-detected like Keras, or `md5:`/`sha256:`-prefixed) is
    /// checked; for a registry entry that publishes a hash, a different one is an error.
    pub fn download(
        &self,
        registry: &Registry,
        target: &str,
        hash: Option<&str>,
    ) -> Result<PathBuf> {
        let given = hash.map(FileHash::parse).transpose()?;
        let request = match registry.request(target) {
            Some(request) => {
                let request = request?;
                match (request.hash(), given) {
                    (Some(published), Some(given)) if *published != given => {
                        return Err(HubError::ConflictingHash {
                            name: target.to_string(),
                            registry: published.to_string(),
                            given: given.to_string(),
                        });
                    }
                    (None, Some(given)) => request.with_hash(Some(given)),
                    _ => request,
                }
            }
            None if target.contains("://") => FetchRequest::from_url(target)?.with_hash(given),
            None => {
                return Err(HubError::UnknownName {
                    name: target.to_string(),
                });
            }
        };
        self.fetch(&request)
    }
}

impl Downloader {
    /// `get_file(..., extract=True)`: [`Downloader::download`], then the archive is extracted
    /// into `<stem>_extracted` beside it (reused while the archive is unchanged, so an offline
    /// rerun costs nothing).
    pub fn download_and_extract(
        &self,
        registry: &Registry,
        target: &str,
        hash: Option<&str>,
    ) -> Result<Extracted> {
        let archive = self.download(registry, target, hash)?;
        extract_archive(
            &archive,
            &extraction_dir_for(&archive),
            self.options().quiet,
        )
    }
}

/// [`Downloader::download`] with the default registry and the environment's cache and options.
pub fn download(target: &str, hash: Option<&str>) -> Result<PathBuf> {
    Downloader::from_env()?.download(&Registry::load_default()?, target, hash)
}
