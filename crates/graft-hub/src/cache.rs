//! Where files live: graft's cache (`$GRAFT_HOME/<subdir>`) and, read-only, Keras' cache
//! (`$KERAS_HOME/<subdir>` or `~/.keras/<subdir>`). The subfolder is `models` for weights and,
//! as in `keras.utils.get_file(cache_subdir=...)`, anything else for other files (`datasets`).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{HubError, Result};
use crate::hash::{FileHash, hash_file};

/// Cache subfolder of weights files, the same as `keras.utils.get_file(cache_subdir="models")`.
pub const MODELS_SUBDIR: &str = "models";
/// Cache subfolder of datasets, `keras.utils.get_file`'s default `cache_subdir`.
pub const DATASETS_SUBDIR: &str = "datasets";
/// Suffix of in-progress downloads (`<file>.part`), kept between runs for resuming.
pub const PART_SUFFIX: &str = ".part";
/// Suffix of the lock file that serialises downloads of one file across processes.
pub const LOCK_SUFFIX: &str = ".lock";

/// The two cache locations graft knows about.
///
/// Graft only ever writes under [`Cache::graft_home`]; Keras' cache is read to reuse files the
/// user already downloaded with Keras.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    graft_home: PathBuf,
    keras_home: Option<PathBuf>,
    subdir: String,
}

/// What the cache holds for a file, found without hashing (cheap enough for listings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheState {
    /// In graft's cache (the hash is checked when the file is fetched, not here).
    Cached {
        /// Path of the file.
        path: PathBuf,
        /// Size in bytes.
        size: u64,
    },
    /// Not in graft's cache but in Keras' cache; fetching will copy it after checking its hash.
    InKerasCache {
        /// Path in Keras' cache.
        path: PathBuf,
        /// Size in bytes.
        size: u64,
    },
    /// An interrupted download that the next fetch will resume.
    Partial {
        /// Path of the `.part` file.
        path: PathBuf,
        /// Bytes received so far.
        bytes: u64,
    },
    /// Nowhere.
    Missing,
}

impl CacheState {
    /// Whether the file can be used without downloading.
    pub fn is_available(&self) -> bool {
        matches!(
            self,
            CacheState::Cached { .. } | CacheState::InKerasCache { .. }
        )
    }
}

fn home_relative(dir: &str) -> Option<PathBuf> {
    dirs::home_dir().map(|home| home.join(dir))
}

/// Expands a leading `~` the way Python's `os.path.expanduser` (used by Keras) does.
fn expand_tilde(path: &str) -> PathBuf {
    if path == "~" {
        return dirs::home_dir().unwrap_or_else(|| PathBuf::from(path));
    }
    if let Some(rest) = path.strip_prefix("~/")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    PathBuf::from(path)
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| expand_tilde(&v))
}

impl Cache {
    /// A cache rooted at `graft_home` (files go to `graft_home/models`), without Keras reuse.
    pub fn new(graft_home: impl Into<PathBuf>) -> Cache {
        Cache {
            graft_home: graft_home.into(),
            keras_home: None,
            subdir: MODELS_SUBDIR.to_string(),
        }
    }

    /// The same cache, storing files in `graft_home/<subdir>` (and reusing Keras'
    /// `keras_home/<subdir>`), like `get_file(cache_subdir=...)`. `subdir` must be one plain
    /// folder name.
    pub fn with_subdir(mut self, subdir: &str) -> Result<Cache> {
        let plain = !subdir.is_empty()
            && subdir != "."
            && subdir != ".."
            && !subdir.contains(['/', '\\'])
            && !subdir.contains('\0');
        if !plain {
            return Err(HubError::InvalidSubdir {
                subdir: subdir.to_string(),
            });
        }
        self.subdir = subdir.to_string();
        Ok(self)
    }

    /// The cache subfolder (`models` unless [`Cache::with_subdir`] chose another).
    pub fn subdir(&self) -> &str {
        &self.subdir
    }

    /// Sets Keras' home (`$KERAS_HOME`, whose `models/` folder is searched); `None` disables reuse.
    pub fn with_keras_home(mut self, keras_home: Option<PathBuf>) -> Cache {
        self.keras_home = keras_home;
        self
    }

    /// Resolves the locations from the environment: `$GRAFT_HOME` (default `~/.cache/graft`) and
    /// `$KERAS_HOME` (default `~/.keras`). A leading `~` is expanded in both.
    pub fn from_env() -> Result<Cache> {
        let graft_home = env_path("GRAFT_HOME")
            .or_else(|| home_relative(".cache/graft"))
            .ok_or(HubError::NoHomeDir)?;
        let keras_home = env_path("KERAS_HOME").or_else(|| home_relative(".keras"));
        Ok(Cache::new(graft_home).with_keras_home(keras_home))
    }

    /// graft's cache root.
    pub fn graft_home(&self) -> &Path {
        &self.graft_home
    }

    /// Keras' cache root, if reuse is enabled.
    pub fn keras_home(&self) -> Option<&Path> {
        self.keras_home.as_deref()
    }

    /// The folder downloaded files are stored in (`<graft_home>/<subdir>`, `models` by default).
    pub fn models_dir(&self) -> PathBuf {
        self.graft_home.join(&self.subdir)
    }

    /// Final path of `file_name` in graft's cache.
    pub fn path_for(&self, file_name: &str) -> PathBuf {
        self.models_dir().join(file_name)
    }

    /// Path of the in-progress download of `file_name`.
    pub fn part_path_for(&self, file_name: &str) -> PathBuf {
        self.models_dir().join(format!("{file_name}{PART_SUFFIX}"))
    }

    /// Path of the lock file guarding downloads of `file_name`.
    pub fn lock_path_for(&self, file_name: &str) -> PathBuf {
        self.models_dir().join(format!("{file_name}{LOCK_SUFFIX}"))
    }

    /// Where Keras would keep `file_name` (`<keras_home>/<subdir>/<file_name>`), if reuse is
    /// enabled.
    pub fn keras_path_for(&self, file_name: &str) -> Option<PathBuf> {
        self.keras_home
            .as_ref()
            .map(|home| home.join(&self.subdir).join(file_name))
    }

    /// What the caches hold for `file_name`, without reading or hashing it.
    pub fn state(&self, file_name: &str) -> CacheState {
        let size_of = |p: &Path| {
            fs::metadata(p)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len())
        };
        let path = self.path_for(file_name);
        if let Some(size) = size_of(&path) {
            return CacheState::Cached { path, size };
        }
        if let Some(path) = self.keras_path_for(file_name)
            && let Some(size) = size_of(&path)
        {
            return CacheState::InKerasCache { path, size };
        }
        let path = self.part_path_for(file_name);
        if let Some(bytes) = size_of(&path) {
            return CacheState::Partial { path, bytes };
        }
        CacheState::Missing
    }

    /// The file in Keras' cache, if there is a regular file under that name.
    pub(crate) fn keras_file(&self, file_name: &str) -> Option<PathBuf> {
        self.keras_path_for(file_name).filter(|p| p.is_file())
    }

    /// Creates `models_dir` if needed.
    pub(crate) fn ensure_models_dir(&self) -> Result<PathBuf> {
        let dir = self.models_dir();
        fs::create_dir_all(&dir).map_err(|e| HubError::io("creating cache folder", &dir, e))?;
        Ok(dir)
    }

    /// Copies `source` (a file in Keras' cache) into graft's cache as `file_name`: to a uniquely
    /// named temporary file in the cache folder first, checked against `hash` if given, then
    /// renamed into place. Returns `Ok(None)` (and leaves nothing behind) when the hash differs.
    ///
    /// A copy, not a hard link: Keras rewrites files in place when it re-downloads them
    /// (`urlretrieve` opens the final path for writing), which would silently change a shared
    /// inode under graft; a link also fails across filesystems.
    pub(crate) fn copy_into_cache(
        &self,
        source: &Path,
        file_name: &str,
        hash: Option<&FileHash>,
    ) -> Result<Option<PathBuf>> {
        let dir = self.ensure_models_dir()?;
        let mut temp = tempfile::Builder::new()
            .prefix(&format!(".{file_name}."))
            .suffix(".copy")
            .tempfile_in(&dir)
            .map_err(|e| HubError::io("creating a temporary file in", &dir, e))?;
        let mut input = File::open(source).map_err(|e| HubError::io("opening", source, e))?;
        std::io::copy(&mut input, temp.as_file_mut()).map_err(|e| {
            HubError::io(format!("copying {} to", source.display()), temp.path(), e)
        })?;
        temp.as_file_mut()
            .flush()
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| HubError::io("writing", temp.path(), e))?;
        if let Some(hash) = hash
            && hash_file(temp.path(), hash.algorithm())? != hash.hex()
        {
            return Ok(None); // the temporary file is deleted on drop
        }
        let dest = self.path_for(file_name);
        temp.persist(&dest)
            .map_err(|e| HubError::io("renaming a temporary copy to", &dest, e.error))?;
        Ok(Some(dest))
    }
}

/// Checks that `file_name` is a plain file name: not empty, no path separators, not `.`/`..`,
/// no NUL, and not one of graft's own temporary suffixes.
pub(crate) fn validate_file_name(file_name: &str, url: &str) -> Result<()> {
    let fail = |reason: &str| HubError::InvalidFileName {
        file_name: file_name.to_string(),
        url: url.to_string(),
        reason: reason.to_string(),
    };
    if file_name.is_empty() {
        return Err(fail("empty"));
    }
    if file_name == "." || file_name == ".." {
        return Err(fail("not a file name"));
    }
    if file_name.contains(['/', '\\', '\0']) {
        return Err(fail("must not contain path separators or NUL"));
    }
    if file_name.ends_with(PART_SUFFIX) || file_name.ends_with(LOCK_SUFFIX) {
        return Err(fail(
            "ends with a suffix graft uses for its own temporary files",
        ));
    }
    if file_name.len() > 200 {
        return Err(fail("longer than 200 bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_checked() {
        for bad in ["", ".", "..", "a/b", "a\\b", "x.part", "x.lock", "a\0b"] {
            assert!(validate_file_name(bad, "u").is_err(), "{bad:?}");
        }
        assert!(validate_file_name("resnet50_weights.h5", "u").is_ok());
    }

    #[test]
    fn subdirs_like_keras_cache_subdir() {
        let dir = tempfile::tempdir().unwrap();
        let keras = dir.path().join("keras");
        let cache = Cache::new(dir.path().join("graft"))
            .with_keras_home(Some(keras.clone()))
            .with_subdir(DATASETS_SUBDIR)
            .unwrap();
        assert_eq!(
            cache.path_for("f.tgz"),
            dir.path().join("graft/datasets/f.tgz")
        );
        assert_eq!(
            cache.keras_path_for("f.tgz"),
            Some(keras.join("datasets/f.tgz"))
        );
        for bad in ["", ".", "..", "a/b", "/abs"] {
            let err = Cache::new(dir.path()).with_subdir(bad).unwrap_err();
            assert!(matches!(err, HubError::InvalidSubdir { .. }), "{bad}");
        }
    }

    #[test]
    fn paths_and_state() {
        let dir = tempfile::tempdir().unwrap();
        let keras = dir.path().join("keras");
        let cache = Cache::new(dir.path().join("graft")).with_keras_home(Some(keras.clone()));
        assert_eq!(cache.path_for("a.h5"), dir.path().join("graft/models/a.h5"));
        assert_eq!(cache.state("a.h5"), CacheState::Missing);
        fs::create_dir_all(keras.join("models")).unwrap();
        fs::write(keras.join("models/a.h5"), b"12").unwrap();
        assert!(matches!(
            cache.state("a.h5"),
            CacheState::InKerasCache { size: 2, .. }
        ));
        cache.ensure_models_dir().unwrap();
        fs::write(cache.part_path_for("b.h5"), b"123").unwrap();
        assert!(matches!(
            cache.state("b.h5"),
            CacheState::Partial { bytes: 3, .. }
        ));
        fs::write(cache.path_for("a.h5"), b"1").unwrap();
        assert!(matches!(
            cache.state("a.h5"),
            CacheState::Cached { size: 1, .. }
        ));
    }

    #[test]
    fn tilde_expansion() {
        if let Some(home) = dirs::home_dir() {
            assert_eq!(expand_tilde("~/x"), home.join("x"));
        }
        assert_eq!(expand_tilde("/abs/x"), PathBuf::from("/abs/x"));
    }
}
