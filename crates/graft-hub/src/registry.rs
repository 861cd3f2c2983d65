//! The pretrained-weights registry (`models/registry.toml`): what can be downloaded, from where,
//! with which hash, and how the weights expect their input.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cache::validate_file_name;
use crate::error::{HubError, Result};
use crate::fetch::{FetchRequest, parse_url};
use crate::hash::{FileHash, HashAlgorithm};

/// The registry shipped with graft, embedded at compile time.
const DEFAULT_REGISTRY: &str = include_str!("../../../models/registry.toml");
const DEFAULT_SOURCE: &str = "<embedded models/registry.toml>";

/// Registry name of the ImageNet class index (`imagenet_class_index.json`).
pub const IMAGENET_CLASS_INDEX: &str = "imagenet_class_index";

/// How inputs must be prepared for a set of weights (Keras' `preprocess_input` modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preprocessing {
    /// RGB->BGR, subtract the ImageNet BGR mean, no scaling (VGG, ResNet v1).
    Caffe,
    /// `x / 127.5 - 1` (ResNetV2, MobileNet v1/v2).
    Tf,
    /// `/255`, then ImageNet mean/std normalisation (DenseNet).
    Torch,
    /// Identity: the model rescales inside (MobileNetV3). Written `"none"` in TOML.
    #[serde(rename = "none")]
    Identity,
}

impl fmt::Display for Preprocessing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Preprocessing::Caffe => "caffe",
            Preprocessing::Tf => "tf",
            Preprocessing::Torch => "torch",
            Preprocessing::Identity => "none",
        })
    }
}

impl std::str::FromStr for Preprocessing {
    type Err = String;

    /// The names [`Preprocessing`] displays as: `caffe`, `tf`, `torch`, `none`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "caffe" => Ok(Preprocessing::Caffe),
            "tf" => Ok(Preprocessing::Tf),
            "torch" => Ok(Preprocessing::Torch),
            "none" => Ok(Preprocessing::Identity),
            other => Err(format!("\"{other}\": expected caffe, tf, torch or none")),
        }
    }
}

/// One pretrained weights file (a `[[weights]]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsEntry {
    /// Unique name, e.g. `"resnet50/imagenet-notop"`.
    pub name: String,
    /// keras.applications builder name, e.g. `"ResNet50"`.
    pub architecture: String,
    /// Whether the file holds the classifier head.
    pub include_top: bool,
    /// Download URL.
    pub url: String,
    /// File name in the cache (the same name Keras uses).
    pub file_name: String,
    /// Published hash (lower-case hex), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Algorithm of [`WeightsEntry::hash`]; present exactly when the hash is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_algorithm: Option<HashAlgorithm>,
    /// `[height, width, channels]` the weights were trained at (no-top weights accept other sizes).
    pub input_size: [u32; 3],
    /// Input preprocessing the weights expect.
    pub preprocessing: Preprocessing,
    /// Width multiplier (MobileNet family).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// MobileNetV3 "minimalistic" variant.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub minimalistic: bool,
    /// Number of classes of the head (top files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<u32>,
}

/// A non-weights data file (a `[[files]]` table), e.g. the ImageNet class index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Unique name, e.g. `"imagenet_class_index"`.
    pub name: String,
    /// What the file is.
    #[serde(default)]
    pub description: String,
    /// Download URL.
    pub url: String,
    /// File name in the cache.
    pub file_name: String,
    /// Published hash (lower-case hex), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Algorithm of [`FileEntry::hash`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_algorithm: Option<HashAlgorithm>,
}

fn entry_hash(hash: Option<&str>, algorithm: Option<HashAlgorithm>) -> Result<Option<FileHash>> {
    match (hash, algorithm) {
        (Some(hex), Some(algorithm)) => FileHash::new(algorithm, hex).map(Some),
        (Some(hex), None) => FileHash::parse(hex).map(Some),
        (None, _) => Ok(None),
    }
}

impl WeightsEntry {
    /// The expected hash, if one is published.
    pub fn file_hash(&self) -> Result<Option<FileHash>> {
        entry_hash(self.hash.as_deref(), self.hash_algorithm)
    }

    /// The download request for this file.
    pub fn request(&self) -> Result<FetchRequest> {
        Ok(FetchRequest::new(&self.url, &self.file_name)?.with_hash(self.file_hash()?))
    }

    /// Width multiplier, 1.0 when the architecture has none.
    pub fn alpha_or_default(&self) -> f64 {
        self.alpha.unwrap_or(1.0)
    }
}

impl FileEntry {
    /// The expected hash, if one is published.
    pub fn file_hash(&self) -> Result<Option<FileHash>> {
        entry_hash(self.hash.as_deref(), self.hash_algorithm)
    }

    /// The download request for this file.
    pub fn request(&self) -> Result<FetchRequest> {
        Ok(FetchRequest::new(&self.url, &self.file_name)?.with_hash(self.file_hash()?))
    }
}

/// What an applications builder asks for: `ResNet50(weights="imagenet", include_top=False)` etc.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightsQuery {
    /// Architecture name, compared case-insensitively (`"ResNet50"`, `"MobileNetV2"`...).
    pub architecture: String,
    /// Whether the classifier head is wanted.
    pub include_top: bool,
    /// Width multiplier; `None` means 1.0.
    pub alpha: Option<f64>,
    /// Input rows (square inputs); `None` means 224. Only used to choose between files that
    /// differ by input size (MobileNet v1/v2).
    pub rows: Option<u32>,
    /// MobileNetV3 minimalistic variant.
    pub minimalistic: bool,
}

impl WeightsQuery {
    /// A query for `architecture` with or without its head, default alpha and rows.
    pub fn new(architecture: impl Into<String>, include_top: bool) -> WeightsQuery {
        WeightsQuery {
            architecture: architecture.into(),
            include_top,
            alpha: None,
            rows: None,
            minimalistic: false,
        }
    }

    /// Sets the width multiplier.
    pub fn alpha(mut self, alpha: f64) -> WeightsQuery {
        self.alpha = Some(alpha);
        self
    }

    /// Sets the input rows.
    pub fn rows(mut self, rows: u32) -> WeightsQuery {
        self.rows = Some(rows);
        self
    }

    /// Selects the MobileNetV3 minimalistic variant.
    pub fn minimalistic(mut self, minimalistic: bool) -> WeightsQuery {
        self.minimalistic = minimalistic;
        self
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    #[serde(default)]
    weights: Vec<WeightsEntry>,
    #[serde(default)]
    files: Vec<FileEntry>,
}

/// The parsed, validated registry.
#[derive(Debug, Clone)]
pub struct Registry {
    weights: Vec<WeightsEntry>,
    files: Vec<FileEntry>,
}

impl Registry {
    /// The registry shipped with graft (`models/registry.toml`, embedded at compile time).
    pub fn load_default() -> Result<Registry> {
        Registry::from_toml_str(DEFAULT_REGISTRY, DEFAULT_SOURCE)
    }

    /// Reads and validates a registry file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Registry> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| HubError::io("reading", path, e))?;
        Registry::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses and validates registry TOML; `source_name` is used in error messages.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<Registry> {
        let file: RegistryFile = toml::from_str(text).map_err(|e| HubError::Registry {
            source_name: source_name.to_string(),
            reason: e.to_string(),
        })?;
        let registry = Registry {
            weights: file.weights,
            files: file.files,
        };
        registry.validate(source_name)?;
        Ok(registry)
    }

    fn validate(&self, source_name: &str) -> Result<()> {
        let fail = |name: &str, reason: String| HubError::Registry {
            source_name: source_name.to_string(),
            reason: format!("entry {name:?}: {reason}"),
        };
        let mut names = HashSet::new();
        let common = self
            .weights
            .iter()
            .map(|w| (&w.name, &w.url, &w.file_name, &w.hash, w.hash_algorithm))
            .chain(
                self.files
                    .iter()
                    .map(|f| (&f.name, &f.url, &f.file_name, &f.hash, f.hash_algorithm)),
            );
        for (name, url, file_name, hash, algorithm) in common {
            if name.trim().is_empty() {
                return Err(fail(name, "empty name".into()));
            }
            if !names.insert(name.as_str()) {
                return Err(fail(name, "duplicate name".into()));
            }
            parse_url(url).map_err(|e| fail(name, e.to_string()))?;
            validate_file_name(file_name, url).map_err(|e| fail(name, e.to_string()))?;
            match (hash, algorithm) {
                (Some(hex), Some(algorithm)) => {
                    FileHash::new(algorithm, hex).map_err(|e| fail(name, e.to_string()))?;
                }
                (Some(_), None) => return Err(fail(name, "hash without hash_algorithm".into())),
                (None, Some(_)) => return Err(fail(name, "hash_algorithm without hash".into())),
                (None, None) => {}
            }
        }
        for w in &self.weights {
            if w.architecture.trim().is_empty() {
                return Err(fail(&w.name, "empty architecture".into()));
            }
            if w.input_size.contains(&0) {
                return Err(fail(
                    &w.name,
                    format!("input_size {:?} has a zero", w.input_size),
                ));
            }
            if let Some(alpha) = w.alpha
                && !(alpha.is_finite() && alpha > 0.0)
            {
                return Err(fail(
                    &w.name,
                    format!("alpha {alpha} is not a positive number"),
                ));
            }
        }
        Ok(())
    }

    /// All weights entries, in file order.
    pub fn weights(&self) -> &[WeightsEntry] {
        &self.weights
    }

    /// All non-weights data files, in file order.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// The weights entry called `name` (e.g. `"resnet50/imagenet-notop"`).
    pub fn get(&self, name: &str) -> Option<&WeightsEntry> {
        self.weights.iter().find(|w| w.name == name)
    }

    /// The data file called `name` (e.g. [`IMAGENET_CLASS_INDEX`]).
    pub fn get_file(&self, name: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The download request for any entry (weights or data file) called `name`.
    pub fn request(&self, name: &str) -> Option<Result<FetchRequest>> {
        if let Some(w) = self.get(name) {
            return Some(w.request());
        }
        self.get_file(name).map(FileEntry::request)
    }

    /// The weights a Keras applications builder would load:
    /// `find("MobileNetV2", false, Some(0.5), Some(160))`.
    ///
    /// `alpha` defaults to 1.0 and `rows` to 224; `rows` only matters where files differ by input
    /// size (MobileNet v1/v2). Unlike Keras, which silently falls back to the 224 weights for an
    /// unsupported `rows`, this returns `None`: the builder decides (and can warn). Minimalistic
    /// MobileNetV3 variants are reached through [`Registry::find_query`].
    pub fn find(
        &self,
        architecture: &str,
        include_top: bool,
        alpha: Option<f64>,
        rows: Option<u32>,
    ) -> Option<&WeightsEntry> {
        self.find_query(&WeightsQuery {
            architecture: architecture.to_string(),
            include_top,
            alpha,
            rows,
            minimalistic: false,
        })
    }

    /// Like [`Registry::find`], with every selector (including `minimalistic`).
    pub fn find_query(&self, query: &WeightsQuery) -> Option<&WeightsEntry> {
        let alpha = query.alpha.unwrap_or(1.0);
        let candidates: Vec<&WeightsEntry> = self
            .weights
            .iter()
            .filter(|w| {
                w.architecture
                    .eq_ignore_ascii_case(query.architecture.trim())
                    && w.include_top == query.include_top
                    && w.minimalistic == query.minimalistic
                    && (w.alpha_or_default() - alpha).abs() < 1e-6
            })
            .collect();
        match candidates.as_slice() {
            [] => None,
            [only] => Some(only),
            many => {
                let rows = query.rows.unwrap_or(224);
                many.iter().copied().find(|w| w.input_size[0] == rows)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_registry_loads_and_finds() {
        let registry = Registry::load_default().unwrap();
        let r50 = registry.find("ResNet50", false, None, None).unwrap();
        assert_eq!(r50.name, "resnet50/imagenet-notop");
        assert_eq!(r50.preprocessing, Preprocessing::Caffe);
        // no-top weights are size independent: any rows picks the single file
        assert_eq!(
            registry
                .find("resnet50", false, None, Some(300))
                .unwrap()
                .name,
            r50.name
        );
        let mb = registry
            .find("MobileNetV2", true, Some(0.35), Some(96))
            .unwrap();
        assert_eq!(
            mb.file_name,
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96.h5"
        );
        assert!(
            registry
                .find("MobileNetV2", true, Some(0.35), Some(100))
                .is_none()
        );
        assert!(registry.find("MobileNet", true, Some(0.3), None).is_none());
        let v3 = registry
            .find_query(&WeightsQuery::new("MobileNetV3Small", false).minimalistic(true))
            .unwrap();
        assert_eq!(
            v3.file_name,
            "weights_mobilenet_v3_small_minimalistic_224_1.0_float_no_top_v2.h5"
        );
        assert!(registry.request(IMAGENET_CLASS_INDEX).is_some());
    }

    #[test]
    fn invalid_registries_are_rejected() {
        let ok = r#"
[[weights]]
name = "a"
architecture = "A"
include_top = true
url = "https://example.com/a.h5"
file_name = "a.h5"
input_size = [224, 224, 3]
preprocessing = "tf"
"#;
        assert!(Registry::from_toml_str(ok, "t").is_ok());
        let dup = format!("{ok}{ok}");
        assert!(
            Registry::from_toml_str(&dup, "t")
                .unwrap_err()
                .to_string()
                .contains("duplicate")
        );
        let bad_hash = ok.replace(
            "preprocessing",
            "hash = \"abc\"\nhash_algorithm = \"md5\"\npreprocessing",
        );
        assert!(Registry::from_toml_str(&bad_hash, "t").is_err());
        let no_algo = ok.replace(
            "preprocessing",
            "hash = \"c2c37ea517e94d9795004a39431a14cb\"\npreprocessing",
        );
        assert!(Registry::from_toml_str(&no_algo, "t").is_err());
        let typo = ok.replace("preprocessing", "preprocesing");
        assert!(Registry::from_toml_str(&typo, "t").is_err());
        let bad_name = ok.replace("\"a.h5\"", "\"../a.h5\"");
        assert!(Registry::from_toml_str(&bad_name, "t").is_err());
        let bad_url = ok.replace("https://example.com/a.h5", "ftp://example.com/a.h5");
        assert!(Registry::from_toml_str(&bad_url, "t").is_err());
    }
}
