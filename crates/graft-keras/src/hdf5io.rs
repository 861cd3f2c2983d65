//! Reading what Keras writes into HDF5: string attributes in every encoding h5py uses, and weight
//! datasets, with sizes checked against the file before anything is allocated.

use std::path::Path;

use graft_ir::Tensor;
use hdf5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};

use crate::error::Reason;

/// HDF5's file signature.
const HDF5_MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Opens an HDF5 file read-only, with a clear error for files that are not HDF5 at all, and
/// without HDF5's file lock (see [`create`]).
pub(crate) fn open(path: &Path) -> Result<hdf5::File, Reason> {
    let mut head = [0u8; 8];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| Reason::Io(e.to_string()))?;
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) => return Err(Reason::Io(e.to_string())),
            }
        }
        n
    };
    // HDF5 also allows the signature at offsets 512, 1024...: let the library decide then.
    if n == head.len() && &head != HDF5_MAGIC && !has_late_signature(path) {
        return Err(Reason::NotHdf5);
    }
    hdf5::File::with_options()
        .with_fapl(|fapl| fapl.file_locking(false))
        .open(path)
        .map_err(|e| Reason::Hdf5(format!("cannot open: {e}")))
}

/// Creates a new HDF5 file for writing (truncating one left at `path`), without HDF5's file lock.
///
/// Why no lock: HDF5 takes an `flock` on every file it opens, and opens without `O_CLOEXEC`, so
/// a process spawned while a file is open (a test harness, a data-loader helper, a user's
/// `Command`) inherits the descriptor and keeps the lock until it exits. Reading the finished
/// file then fails with "unable to lock file, errno = 11". graft only writes to fresh temporary
/// files that it renames into place and only reads complete files, so the lock protects nothing
/// here (h5py users set `HDF5_USE_FILE_LOCKING=FALSE` for the same reason).
pub(crate) fn create(path: &Path) -> Result<hdf5::File, Reason> {
    hdf5::File::with_options()
        .with_fapl(|fapl| fapl.file_locking(false))
        .create(path)
        .map_err(|e| Reason::Hdf5(format!("cannot create: {e}")))
}

fn has_late_signature(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut offset = 512u64;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    while offset + 8 <= len && offset <= 1 << 20 {
        let mut head = [0u8; 8];
        if f.seek(SeekFrom::Start(offset)).is_err() || f.read_exact(&mut head).is_err() {
            return false;
        }
        if &head == HDF5_MAGIC {
            return true;
        }
        offset *= 2;
    }
    false
}

/// A string attribute (`None` when absent). Scalars and one-element arrays both read as one
/// string.
pub(crate) fn string_attr(loc: &hdf5::Location, name: &str) -> Result<Option<String>, Reason> {
    if !loc.attr_names().map_err(h5)?.iter().any(|n| n == name) {
        return Ok(None);
    }
    let values = read_strings(&loc.attr(name).map_err(h5)?)
        .map_err(|e| Reason::Hdf5(format!("attribute '{name}': {e}")))?;
    Ok(values.into_iter().next())
}

/// A list-of-strings attribute such as `layer_names` or `weight_names`, `None` when absent.
///
/// h5py splits attributes over 64 KB into `name0`, `name1`, ... (Keras' `save_attributes_to_hdf5_group`);
/// those are joined back. Keras writes an empty list as an empty float64 array.
pub(crate) fn string_list_attr(
    loc: &hdf5::Location,
    name: &str,
) -> Result<Option<Vec<String>>, Reason> {
    let names = loc.attr_names().map_err(h5)?;
    if names.iter().any(|n| n == name) {
        let attr = loc.attr(name).map_err(h5)?;
        return read_strings(&attr)
            .map(Some)
            .map_err(|e| Reason::Hdf5(format!("attribute '{name}': {e}")));
    }
    let mut out = Vec::new();
    let mut chunk = 0;
    while names.iter().any(|n| *n == format!("{name}{chunk}")) {
        let key = format!("{name}{chunk}");
        let attr = loc.attr(&key).map_err(h5)?;
        out.extend(
            read_strings(&attr).map_err(|e| Reason::Hdf5(format!("attribute '{key}': {e}")))?,
        );
        chunk += 1;
    }
    Ok((chunk > 0).then_some(out))
}

/// Reads a string attribute of any of the encodings h5py produces.
fn read_strings(attr: &hdf5::Attribute) -> Result<Vec<String>, String> {
    let descriptor = attr
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| e.to_string())?;
    let err = |e: hdf5::Error| e.to_string();
    match descriptor {
        TypeDescriptor::VarLenAscii => Ok(attr
            .read_raw::<VarLenAscii>()
            .map_err(err)?
            .iter()
            .map(|s| s.as_str().to_string())
            .collect()),
        TypeDescriptor::VarLenUnicode => Ok(attr
            .read_raw::<VarLenUnicode>()
            .map_err(err)?
            .iter()
            .map(|s| s.as_str().to_string())
            .collect()),
        TypeDescriptor::FixedAscii(n) => read_fixed(attr, n, false),
        TypeDescriptor::FixedUnicode(n) => read_fixed(attr, n, true),
        // Keras stores an empty name list as `np.array([], dtype=float64)`.
        TypeDescriptor::Float(_) | TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_)
            if attr.size() == 0 =>
        {
            Ok(vec![])
        }
        other => Err(format!("expected strings, found {other:?}")),
    }
}

/// Fixed-length strings: HDF5 converts between fixed sizes, so read into the smallest
/// compile-time size that holds `n` bytes.
fn read_fixed(attr: &hdf5::Attribute, n: usize, unicode: bool) -> Result<Vec<String>, String> {
    macro_rules! ladder {
        ($($size:literal),*) => {
            $(
                if n <= $size {
                    let bytes: Vec<Vec<u8>> = if unicode {
                        attr.read_raw::<FixedUnicode<$size>>()
                            .map_err(|e| e.to_string())?
                            .iter()
                            .map(|s| s.as_bytes().to_vec())
                            .collect()
                    } else {
                        attr.read_raw::<FixedAscii<$size>>()
                            .map_err(|e| e.to_string())?
                            .iter()
                            .map(|s| s.as_bytes().to_vec())
                            .collect()
                    };
                    return Ok(bytes
                        .into_iter()
                        .map(|b| {
                            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                            String::from_utf8_lossy(&b[..end]).into_owned()
                        })
                        .collect());
                }
            )*
        };
    }
    ladder!(32, 64, 128, 256, 512, 1024, 4096, 16384, 65536);
    Err(format!(
        "fixed-length strings of {n} bytes are longer than any name Keras writes"
    ))
}

/// The largest single weight graft will read: 16 Gi values (64 GiB of f32).
const MAX_WEIGHT_VALUES: usize = 1 << 34;

/// Reads a weight dataset as f32. The declared size is checked against the file's size before
/// anything is allocated, so a corrupt or hostile header cannot make graft allocate gigabytes.
pub(crate) fn read_tensor(ds: &hdf5::Dataset, file_size: u64) -> Result<Tensor, String> {
    let shape = ds.shape();
    let numel = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= MAX_WEIGHT_VALUES)
        .ok_or_else(|| format!("declared shape {shape:?} is too large"))?;
    let bfloat16 = ds
        .attr_names()
        .map_err(|e| e.to_string())?
        .iter()
        .any(|n| n == "dtype")
        && matches!(
            ds.attr("dtype").ok().map(|a| read_strings(&a)),
            Some(Ok(v)) if v.first().map(String::as_str) == Some("bfloat16")
        );
    let element_size = ds.dtype().map(|t| t.size()).unwrap_or(4).max(1);
    // Uncompressed data cannot be larger than the file; compressed data by more than a
    // generous ratio is implausible for weights.
    let ratio = if ds.filters().is_empty() { 1 } else { 1024 };
    let stored = (numel as u64).saturating_mul(element_size as u64);
    if stored > file_size.saturating_mul(ratio) {
        return Err(format!(
            "declares shape {shape:?} ({stored} bytes) but the file holds only {file_size} bytes"
        ));
    }
    let data: Vec<f32> = if bfloat16 {
        // Keras 3 stores bfloat16 as raw 16-bit patterns: the high half of an f32.
        ds.read_raw::<u16>()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|b| f32::from_bits((b as u32) << 16))
            .collect()
    } else {
        ds.read_raw::<f32>().map_err(|e| e.to_string())?
    };
    Tensor::new(shape, data).map_err(|e| e.to_string())
}

fn h5(e: hdf5::Error) -> Reason {
    Reason::Hdf5(e.to_string())
}
