//! The ImageNet class index used by `decode_predictions`.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{HubError, Result};
use crate::fetch::Downloader;
use crate::registry::{IMAGENET_CLASS_INDEX, Registry};

/// Reads `imagenet_class_index.json` (`{"0": ["n01440764", "tench"], ...}`) into
/// `(wnid, label)` pairs ordered by class index; the indices must be exactly `0..n`.
pub fn read_class_index(path: &Path) -> Result<Vec<(String, String)>> {
    let bad = |reason: String| HubError::BadContent {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| HubError::io("reading", path, e))?;
    let map: HashMap<String, (String, String)> = serde_json::from_str(&text)
        .map_err(|e| bad(format!("not an ImageNet class index: {e}")))?;
    let count = map.len();
    let mut slots: Vec<Option<(String, String)>> = vec![None; count];
    for (key, entry) in map {
        let index: usize = key
            .parse()
            .map_err(|_| bad(format!("class key {key:?} is not an integer")))?;
        let slot = slots.get_mut(index).ok_or_else(|| {
            bad(format!(
                "class index {index} out of range for {count} classes"
            ))
        })?;
        *slot = Some(entry);
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(i, entry)| entry.ok_or_else(|| bad(format!("class {i} is missing"))))
        .collect()
}

impl Downloader {
    /// Fetches the ImageNet class index through the cache (registry entry
    /// [`IMAGENET_CLASS_INDEX`], md5-verified) and reads it.
    pub fn imagenet_class_index(&self) -> Result<Vec<(String, String)>> {
        let registry = Registry::load_default()?;
        let request =
            registry
                .request(IMAGENET_CLASS_INDEX)
                .ok_or_else(|| HubError::UnknownName {
                    name: IMAGENET_CLASS_INDEX.to_string(),
                })??;
        read_class_index(&self.fetch(&request)?)
    }
}

/// The ImageNet class index as `(wnid, label)` pairs in class order, fetched from
/// <https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json>
/// (md5 `c2c37ea517e94d9795004a39431a14cb`) through the cache configured by the environment.
pub fn imagenet_class_index() -> Result<Vec<(String, String)>> {
    Downloader::from_env()?.imagenet_class_index()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idx.json");
        std::fs::write(&path, r#"{"1": ["n2", "goldfish"], "0": ["n1", "tench"]}"#).unwrap();
        let index = read_class_index(&path).unwrap();
        assert_eq!(index[0], ("n1".to_string(), "tench".to_string()));
        assert_eq!(index[1].1, "goldfish");
        std::fs::write(&path, r#"{"0": ["n1", "tench"], "2": ["n2", "x"]}"#).unwrap();
        assert!(read_class_index(&path).is_err());
        std::fs::write(&path, r#"[1, 2]"#).unwrap();
        assert!(read_class_index(&path).is_err());
        std::fs::write(&path, r#"{}"#).unwrap();
        assert_eq!(read_class_index(&path).unwrap(), vec![]);
    }
}
