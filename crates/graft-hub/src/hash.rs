//! File hashes: md5 and sha256, with Keras' algorithm auto-detection.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use md5::Md5;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{HubError, Result};

/// A hash algorithm accepted for file verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// MD5 (what keras.applications publishes; integrity only, not security).
    Md5,
    /// SHA-256.
    Sha256,
}

impl HashAlgorithm {
    /// Length of the hex digest.
    pub fn hex_len(self) -> usize {
        match self {
            HashAlgorithm::Md5 => 32,
            HashAlgorithm::Sha256 => 64,
        }
    }

    /// Keras' `hash_algorithm="auto"`: a 64-character hash is sha256, anything else md5.
    pub fn detect(hex: &str) -> HashAlgorithm {
        if hex.trim().len() == 64 {
            HashAlgorithm::Sha256
        } else {
            HashAlgorithm::Md5
        }
    }

    /// Parses "md5", "sha256" (also "sha-256"), case-insensitively.
    pub fn from_name(name: &str) -> Option<HashAlgorithm> {
        match name.trim().to_ascii_lowercase().as_str() {
            "md5" => Some(HashAlgorithm::Md5),
            "sha256" | "sha-256" => Some(HashAlgorithm::Sha256),
            _ => None,
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HashAlgorithm::Md5 => "md5",
            HashAlgorithm::Sha256 => "sha256",
        })
    }
}

/// An expected file hash: algorithm plus lower-case hex digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileHash {
    algorithm: HashAlgorithm,
    hex: String,
}

impl FileHash {
    /// Builds a hash with an explicit algorithm, checking the hex digest (case-insensitive).
    pub fn new(algorithm: HashAlgorithm, hex: &str) -> Result<FileHash> {
        let hex = hex.trim().to_ascii_lowercase();
        let invalid = |reason: String| HubError::InvalidHash {
            hash: hex.clone(),
            reason,
        };
        if hex.len() != algorithm.hex_len() {
            return Err(invalid(format!(
                "a {algorithm} hash has {} hex digits, this one has {}",
                algorithm.hex_len(),
                hex.len()
            )));
        }
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("not a hexadecimal string".into()));
        }
        Ok(FileHash { algorithm, hex })
    }

    /// Parses a hash the way `keras.utils.get_file(file_hash=...)` does with `hash_algorithm="auto"`:
    /// 64 hex digits is sha256, otherwise md5. An explicit `md5:`/`sha256:` prefix is also accepted.
    pub fn parse(text: &str) -> Result<FileHash> {
        let text = text.trim();
        if let Some((prefix, rest)) = text.split_once(':')
            && let Some(algorithm) = HashAlgorithm::from_name(prefix)
        {
            return FileHash::new(algorithm, rest);
        }
        FileHash::new(HashAlgorithm::detect(text), text)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The lower-case hex digest.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Whether `path` has this hash (reads the whole file).
    pub fn matches_file(&self, path: &Path) -> Result<bool> {
        Ok(hash_file(path, self.algorithm)? == self.hex)
    }
}

impl fmt::Display for FileHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

/// Streaming hasher over either algorithm.
pub(crate) enum Hasher {
    Md5(Md5),
    Sha256(Sha256),
}

impl Hasher {
    pub(crate) fn new(algorithm: HashAlgorithm) -> Hasher {
        match algorithm {
            HashAlgorithm::Md5 => Hasher::Md5(Md5::new()),
            HashAlgorithm::Sha256 => Hasher::Sha256(Sha256::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    pub(crate) fn finish_hex(self) -> String {
        match self {
            Hasher::Md5(h) => format!("{:x}", h.finalize()),
            Hasher::Sha256(h) => format!("{:x}", h.finalize()),
        }
    }
}

/// Hashes a file with `algorithm`, streaming it in 1 MiB chunks; returns lower-case hex.
pub fn hash_file(path: &Path, algorithm: HashAlgorithm) -> Result<String> {
    let mut file = File::open(path).map_err(|e| HubError::io("opening", path, e))?;
    let mut hasher = Hasher::new(algorithm);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(HubError::io("reading", path, e)),
        };
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finish_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_detection_follows_keras() {
        let md5 = FileHash::parse("C2C37EA517E94D9795004A39431A14CB").unwrap();
        assert_eq!(md5.algorithm(), HashAlgorithm::Md5);
        assert_eq!(md5.hex(), "c2c37ea517e94d9795004a39431a14cb");
        let sha = FileHash::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(sha.algorithm(), HashAlgorithm::Sha256);
        let prefixed = FileHash::parse(&format!("sha256:{}", "0f".repeat(32))).unwrap();
        assert_eq!(prefixed.algorithm(), HashAlgorithm::Sha256);
        assert_eq!(prefixed.to_string(), format!("sha256:{}", "0f".repeat(32)));
    }

    #[test]
    fn bad_hashes_are_rejected() {
        assert!(FileHash::parse("").is_err());
        assert!(FileHash::parse("xyz").is_err());
        assert!(FileHash::parse(&"g".repeat(32)).is_err());
        assert!(FileHash::new(HashAlgorithm::Sha256, &"a".repeat(32)).is_err());
        assert!(FileHash::parse("md5:abc").is_err());
    }

    #[test]
    fn known_digests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            hash_file(&path, HashAlgorithm::Md5).unwrap(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hash_file(&path, HashAlgorithm::Sha256).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
