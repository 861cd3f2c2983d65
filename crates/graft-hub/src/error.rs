//! The crate's error type.

use std::path::PathBuf;

use crate::hash::HashAlgorithm;

/// Result alias used throughout graft-hub.
pub type Result<T, E = HubError> = std::result::Result<T, E>;

/// Everything that can go wrong while resolving, downloading or verifying a file.
///
/// Messages name the URL or registry name involved, the cache path, and what failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// The server answered with an HTTP status that is not worth retrying (404, 403, ...).
    #[error("downloading {url} failed: HTTP {status} {reason} (cache file {path})")]
    HttpStatus {
        /// URL requested (before redirects).
        url: String,
        /// Status code returned by the server.
        status: u16,
        /// The status' standard reason phrase ("Not Found").
        reason: String,
        /// Where the file would have been stored.
        path: PathBuf,
    },

    /// Transient failures (5xx, timeouts, dropped connections) persisted through every retry.
    #[error(
        "downloading {url} failed after {attempts} attempt(s): {cause}{kept}",
        kept = part_path.as_ref().map(|p| format!(
            " (the data received so far is kept in {} and the next try resumes from it)",
            p.display()
        )).unwrap_or_default()
    )]
    Download {
        /// URL requested (before redirects).
        url: String,
        /// Number of attempts made.
        attempts: u32,
        /// Last failure, with its chain of causes (e.g. "HTTP 500", "operation timed out").
        cause: String,
        /// The `.part` file holding what was received so far, if anything was.
        part_path: Option<PathBuf>,
    },

    /// A request could not be made at all (bad TLS setup, too many redirects, invalid URL...).
    #[error("cannot download {url}: {cause}")]
    Request {
        /// URL requested.
        url: String,
        /// What went wrong, with its chain of causes.
        cause: String,
    },

    /// The downloaded file does not have the expected hash. Nothing was kept.
    #[error(
        "hash mismatch for {url}: expected {algorithm} {expected}, got {actual}; \
         the download was deleted and nothing was written to {path}"
    )]
    HashMismatch {
        /// URL the data came from.
        url: String,
        /// Final cache path that was NOT written.
        path: PathBuf,
        /// Algorithm used.
        algorithm: HashAlgorithm,
        /// Expected hash (lower-case hex).
        expected: String,
        /// Hash of the data received (lower-case hex).
        actual: String,
    },

    /// Offline mode is on and the file is neither in graft's nor in Keras' cache.
    #[error(
        "offline mode (GRAFT_OFFLINE) is on and no valid copy of {file_name} is cached: \
         looked in {path}{keras}; run once online or put the file there (from {url})",
        keras = keras_path.as_ref().map(|p| format!(" and {}", p.display())).unwrap_or_default()
    )]
    Offline {
        /// File name in the cache.
        file_name: String,
        /// URL it would be downloaded from.
        url: String,
        /// Path in graft's cache.
        path: PathBuf,
        /// Path checked in Keras' cache, if any.
        keras_path: Option<PathBuf>,
    },

    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("creating", "renaming ... to", ...).
        action: String,
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A hash string is not valid hex of the right length for its algorithm.
    #[error("invalid hash {hash:?}: {reason}")]
    InvalidHash {
        /// The hash as given.
        hash: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A cache file name is empty, contains a path separator or is otherwise unsafe.
    #[error("invalid cache file name {file_name:?} (for {url}): {reason}")]
    InvalidFileName {
        /// The offending name.
        file_name: String,
        /// URL it belongs to.
        url: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A URL cannot be parsed or is not http(s).
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was rejected.
        reason: String,
    },

    /// No registry entry has this name (and it is not a URL).
    #[error("{name:?} is neither a registry entry nor an http(s) URL (see `graft applications`)")]
    UnknownName {
        /// Name looked up.
        name: String,
    },

    /// A hash given on the command line contradicts the registry's published hash.
    #[error("hash {given} given for {name} contradicts the registry's {registry}")]
    ConflictingHash {
        /// Registry entry name.
        name: String,
        /// Hash in the registry.
        registry: String,
        /// Hash given by the caller.
        given: String,
    },

    /// The registry TOML is malformed or inconsistent.
    #[error("registry {source_name}: {reason}")]
    Registry {
        /// File path or "<embedded models/registry.toml>".
        source_name: String,
        /// What is wrong.
        reason: String,
    },

    /// A cache subfolder that is not one plain folder name.
    #[error(
        "invalid cache subfolder {subdir:?}: give one folder name such as `models` or `datasets`"
    )]
    InvalidSubdir {
        /// The name given.
        subdir: String,
    },

    /// An archive could not be extracted. Nothing was left at the destination.
    #[error("extracting {archive}: {reason}{entry}", archive = archive.display(),
        entry = entry.as_ref().map(|e| format!(" (entry {e:?})")).unwrap_or_default())]
    Archive {
        /// The archive file.
        archive: PathBuf,
        /// The member concerned, when one is.
        entry: Option<String>,
        /// What went wrong.
        reason: String,
    },

    /// The home directory cannot be determined and `GRAFT_HOME` is not set.
    #[error("cannot find a home directory for the cache; set GRAFT_HOME")]
    NoHomeDir,

    /// A downloaded data file (e.g. the ImageNet class index) has unexpected contents.
    #[error("{path}: {reason}")]
    BadContent {
        /// File read.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl HubError {
    /// Shorthand for [`HubError::Io`].
    pub(crate) fn io(
        action: impl Into<String>,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        HubError::Io {
            action: action.into(),
            path: path.into(),
            source,
        }
    }
}

/// Formats an error with its whole `source()` chain ("a: b: c"), skipping repeated text.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
