//! `Downloader::fetch`: the cache-first, verify-then-rename download of one file.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

use crate::cache::{Cache, validate_file_name};
use crate::error::{HubError, Result};
use crate::hash::{FileHash, hash_file};
use crate::http::{self, Transfer};
use crate::progress::Reporter;
use crate::registry::WeightsEntry;

/// Parses an http(s) URL.
pub(crate) fn parse_url(url: &str) -> Result<Url> {
    let parsed = Url::parse(url).map_err(|e| HubError::InvalidUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(HubError::InvalidUrl {
            url: url.to_string(),
            reason: format!("scheme {other:?} is not http or https"),
        }),
    }
}

/// What to fetch: a URL, the name it gets in the cache, and the expected hash if known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    url: String,
    file_name: String,
    hash: Option<FileHash>,
}

impl FetchRequest {
    /// A request for `url`, cached as `file_name` (a plain file name, no folders).
    pub fn new(url: &str, file_name: &str) -> Result<FetchRequest> {
        parse_url(url)?;
        validate_file_name(file_name, url)?;
        Ok(FetchRequest {
            url: url.to_string(),
            file_name: file_name.to_string(),
            hash: None,
        })
    }

    /// A request cached under the last segment of the URL's path, as `get_file(origin=url)` does.
    pub fn from_url(url: &str) -> Result<FetchRequest> {
        let parsed = parse_url(url)?;
        let name = parsed
            .path_segments()
            .and_then(|mut segments| segments.next_back())
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            return Err(HubError::InvalidUrl {
                url: url.to_string(),
                reason: "cannot take a file name from the URL's path; give one explicitly".into(),
            });
        }
        FetchRequest::new(url, &name)
    }

    /// Sets (or clears) the expected hash.
    pub fn with_hash(mut self, hash: Option<FileHash>) -> FetchRequest {
        self.hash = hash;
        self
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The file name in the cache.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The expected hash, if any. Without one, a cached file is trusted (as in Keras).
    pub fn hash(&self) -> Option<&FileHash> {
        self.hash.as_ref()
    }
}

/// How fetching behaves. `Default` is online with production timeouts; [`FetchOptions::from_env`]
/// also reads `GRAFT_OFFLINE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Use only the caches, never the network.
    pub offline: bool,
    /// Longest wait to establish a connection (default 30 s).
    pub connect_timeout: Duration,
    /// Longest wait for the response head or for any chunk of the body (default 60 s).
    pub read_timeout: Duration,
    /// Retries after a failed attempt (5xx, 408, 429, connection errors, timeouts, dropped
    /// connections); an attempt that received data does not use one up. Default 5.
    pub max_retries: u32,
    /// Delay before the first retry, doubled for each further one (default 1 s).
    pub backoff_initial: Duration,
    /// Longest delay between retries (default 30 s).
    pub backoff_max: Duration,
    /// No messages and no progress bar on stderr.
    pub quiet: bool,
    /// Look for the file in Keras' cache before downloading (default true).
    pub reuse_keras_cache: bool,
    /// Honour `HTTP(S)_PROXY`/`NO_PROXY` (default true).
    pub use_env_proxy: bool,
}

impl Default for FetchOptions {
    fn default() -> FetchOptions {
        FetchOptions {
            offline: false,
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            max_retries: 5,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            quiet: false,
            reuse_keras_cache: true,
            use_env_proxy: true,
        }
    }
}

impl FetchOptions {
    /// Defaults, with `offline` set when `GRAFT_OFFLINE` is `1`, `true`, `yes` or `on`.
    pub fn from_env() -> FetchOptions {
        let offline = std::env::var("GRAFT_OFFLINE")
            .map(|v| is_truthy(&v))
            .unwrap_or(false);
        FetchOptions {
            offline,
            ..FetchOptions::default()
        }
    }
}

fn is_truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// Fetches files into a [`Cache`]; see [`Downloader::fetch`].
///
/// Uses reqwest's blocking client: call it from synchronous code (or `spawn_blocking`), not
/// directly inside an async runtime.
#[derive(Debug, Clone)]
pub struct Downloader {
    cache: Cache,
    options: FetchOptions,
}

impl Downloader {
    /// A downloader over `cache` with `options`.
    pub fn new(cache: Cache, options: FetchOptions) -> Downloader {
        Downloader { cache, options }
    }

    /// [`Cache::from_env`] with [`FetchOptions::from_env`].
    pub fn from_env() -> Result<Downloader> {
        Ok(Downloader::new(
            Cache::from_env()?,
            FetchOptions::from_env(),
        ))
    }

    /// The cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The options.
    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// Fetches a registry weights file.
    pub fn fetch_weights(&self, entry: &WeightsEntry) -> Result<PathBuf> {
        self.fetch(&entry.request()?)
    }

    /// Returns the path of a verified copy of `request` in graft's cache, downloading it if needed.
    ///
    /// 1. The file is in graft's cache: with no expected hash it is trusted (as in Keras); with
    ///    one it is hashed, and a mismatch means it is fetched again.
    /// 2. Keras' cache has it: it is copied into graft's cache (never linked, see
    ///    [`Cache`]), checked against the hash on the copy, renamed into place.
    /// 3. Offline: [`HubError::Offline`], naming the file and the paths looked at.
    /// 4. Otherwise it is downloaded to `<file>.part` (resumed with `Range` if a `.part` exists,
    ///    retried with backoff), hashed, and renamed into place only if the hash matches; on a
    ///    mismatch the `.part` is deleted. A cache file under the final name is therefore always
    ///    complete, and verified whenever a hash is known.
    ///
    /// Steps 2 and 4 run under an exclusive lock on `<file>.lock` (`std::fs::File::lock`), so two
    /// processes fetching the same file do not write the same `.part`; the second waits and then
    /// finds the first one's result.
    pub fn fetch(&self, request: &FetchRequest) -> Result<PathBuf> {
        let reporter = Reporter::new(self.options.quiet);
        let file_name = request.file_name();
        let dest = self.cache.path_for(file_name);
        // Metadata of a cached file found to be invalid, so it is not hashed twice.
        let mut invalid: Option<fs::Metadata> = None;
        if let Ok(meta) = fs::metadata(&dest)
            && meta.is_file()
        {
            if self.cached_file_is_valid(&dest, request, reporter)? {
                return Ok(dest);
            }
            invalid = Some(meta);
        }
        let keras_file = if self.options.reuse_keras_cache {
            self.cache.keras_file(file_name)
        } else {
            None
        };
        if self.options.offline && keras_file.is_none() {
            return Err(self.offline_error(request));
        }

        self.cache.ensure_models_dir()?;
        let _lock = self.lock(file_name)?;
        // Another process may have fetched it (or replaced a bad copy) while we waited.
        if let Ok(meta) = fs::metadata(&dest)
            && meta.is_file()
        {
            let unchanged = invalid
                .as_ref()
                .is_some_and(|old| same_file_state(old, &meta));
            if !unchanged && self.cached_file_is_valid(&dest, request, Reporter::new(true))? {
                return Ok(dest);
            }
            if !self.options.offline {
                remove_if_exists(&dest)?;
            }
        }
        if let Some(keras_file) = keras_file {
            match self
                .cache
                .copy_into_cache(&keras_file, file_name, request.hash())?
            {
                Some(path) => {
                    reporter.message(&format!(
                        "copied {} from Keras' cache to {}",
                        keras_file.display(),
                        path.display()
                    ));
                    return Ok(path);
                }
                None => reporter.message(&format!(
                    "ignoring {}: its hash does not match {}",
                    keras_file.display(),
                    hash_text(request)
                )),
            }
        }
        if self.options.offline {
            return Err(self.offline_error(request));
        }
        self.download_verified(request, &dest, reporter)?;
        Ok(dest)
    }

    /// Hashes a cached file when a hash is expected; reports a mismatch.
    fn cached_file_is_valid(
        &self,
        path: &Path,
        request: &FetchRequest,
        reporter: Reporter,
    ) -> Result<bool> {
        let Some(hash) = request.hash() else {
            return Ok(true);
        };
        let actual = hash_file(path, hash.algorithm())?;
        if actual == hash.hex() {
            return Ok(true);
        }
        reporter.message(&format!(
            "ignoring {}: its {} is {actual}, not {}",
            path.display(),
            hash.algorithm(),
            hash.hex()
        ));
        Ok(false)
    }

    fn offline_error(&self, request: &FetchRequest) -> HubError {
        HubError::Offline {
            file_name: request.file_name().to_string(),
            url: request.url().to_string(),
            path: self.cache.path_for(request.file_name()),
            keras_path: if self.options.reuse_keras_cache {
                self.cache.keras_path_for(request.file_name())
            } else {
                None
            },
        }
    }

    /// Takes the exclusive per-file lock (blocking until another holder is done).
    fn lock(&self, file_name: &str) -> Result<File> {
        let path = self.cache.lock_path_for(file_name);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| HubError::io("opening lock file", &path, e))?;
        match file.lock() {
            Ok(()) => {}
            // Filesystems without locks: go on unlocked (the `.part` may then be shared).
            Err(e) if e.kind() == ErrorKind::Unsupported => {}
            Err(e) => return Err(HubError::io("locking", &path, e)),
        }
        Ok(file)
    }

    /// Downloads to `.part`, verifies, renames. Called with the lock held.
    fn download_verified(
        &self,
        request: &FetchRequest,
        dest: &Path,
        reporter: Reporter,
    ) -> Result<()> {
        let url = request.url();
        let part = self.cache.part_path_for(request.file_name());
        let client = http::client(&self.options, url)?;
        let transfer = Transfer {
            url,
            file_name: request.file_name(),
            part: &part,
            dest,
        };
        let resumed = part.is_file();
        reporter.message(&format!(
            "downloading {url}{} to {}",
            if resumed { " (resuming)" } else { "" },
            dest.display()
        ));
        http::download_to_part(&client, &transfer, &self.options, reporter)?;
        if let Some(hash) = request.hash() {
            let mut actual = hash_file(&part, hash.algorithm())?;
            if actual != hash.hex() && resumed {
                // The old `.part` may come from another version of the file: start over once.
                reporter.message(&format!(
                    "{url}: the resumed download does not match its hash; downloading it again from the start"
                ));
                remove_if_exists(&part)?;
                http::download_to_part(&client, &transfer, &self.options, reporter)?;
                actual = hash_file(&part, hash.algorithm())?;
            }
            if actual != hash.hex() {
                remove_if_exists(&part)?;
                return Err(HubError::HashMismatch {
                    url: url.to_string(),
                    path: dest.to_path_buf(),
                    algorithm: hash.algorithm(),
                    expected: hash.hex().to_string(),
                    actual,
                });
            }
        }
        fs::rename(&part, dest)
            .map_err(|e| HubError::io(format!("renaming {} to", part.display()), dest, e))?;
        sync_dir(dest);
        Ok(())
    }
}

/// Whether two metadata snapshots describe the same, unmodified file.
fn same_file_state(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok() && a.modified().is_ok()
}

fn hash_text(request: &FetchRequest) -> String {
    request
        .hash()
        .map_or_else(|| "the expected hash".to_string(), FileHash::to_string)
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(HubError::io("removing", path, e)),
    }
}

/// Makes the rename durable where the platform allows syncing a directory (best effort).
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent()
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_validation() {
        let r = FetchRequest::from_url("https://example.com/a/b/w.h5?x=1").unwrap();
        assert_eq!(r.file_name(), "w.h5");
        assert!(FetchRequest::from_url("https://example.com/").is_err());
        assert!(FetchRequest::from_url("file:///etc/passwd").is_err());
        assert!(FetchRequest::from_url("not a url").is_err());
        assert!(FetchRequest::new("https://example.com/x", "../x").is_err());
    }

    #[test]
    fn truthy_values() {
        for v in ["1", "true", "YES", " on "] {
            assert!(is_truthy(v));
        }
        for v in ["", "0", "false", "off"] {
            assert!(!is_truthy(v));
        }
    }
}
