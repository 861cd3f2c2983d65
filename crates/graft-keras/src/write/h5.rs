//! Writing HDF5 the way h5py writes Keras files: variable-length string attributes (ASCII for
//! Python `bytes`, UTF-8 for `str`), name lists split over 64 KB into numbered fixed-length
//! attributes (Keras' `save_attributes_to_hdf5_group`), an empty list as an empty float64
//! array, and contiguous uncompressed weight datasets.

use graft_ir::Tensor;
use hdf5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};

use crate::error::Reason;

/// The largest attribute Keras writes in one piece (`HDF5_OBJECT_HEADER_LIMIT`).
const HEADER_LIMIT: usize = 64512;

pub(crate) fn h5(e: hdf5::Error) -> Reason {
    Reason::Hdf5(e.to_string())
}

/// A scalar string attribute. `utf8` stores a Python `str` (Keras' root `keras_version` and
/// `backend`), otherwise Python `bytes` (ASCII); non-ASCII text is always stored as UTF-8.
pub(crate) fn str_attr(
    loc: &hdf5::Location,
    name: &str,
    value: &str,
    utf8: bool,
) -> Result<(), Reason> {
    if utf8 || !value.is_ascii() {
        let v: VarLenUnicode = value
            .parse()
            .map_err(|e| Reason::Hdf5(format!("attribute '{name}': {e}")))?;
        loc.new_attr::<VarLenUnicode>()
            .create(name)
            .and_then(|a| a.write_scalar(&v))
    } else {
        let v = VarLenAscii::from_ascii(value)
            .map_err(|e| Reason::Hdf5(format!("attribute '{name}': {e}")))?;
        loc.new_attr::<VarLenAscii>()
            .create(name)
            .and_then(|a| a.write_scalar(&v))
    }
    .map(|_| ())
    .map_err(|e| Reason::Hdf5(format!("attribute '{name}': {e}")))
}

/// A list of names (`layer_names`, `weight_names`) as Keras saves it: an empty float64 array
/// when empty; a variable-length string array when `count * longest` fits in 64512 bytes;
/// otherwise numbered attributes `name0`, `name1`, ... of fixed-length strings (numpy's
/// `array_split` of the list).
pub(crate) fn str_list_attr(
    loc: &hdf5::Location,
    name: &str,
    values: &[String],
) -> Result<(), Reason> {
    let err = |e: hdf5::Error| Reason::Hdf5(format!("attribute '{name}': {e}"));
    if values.is_empty() {
        loc.new_attr::<f64>().shape(0).create(name).map_err(err)?;
        return Ok(());
    }
    let longest = values.iter().map(String::len).max().unwrap_or(0).max(1);
    if let Some(v) = values.iter().find(|v| v.len() > HEADER_LIMIT) {
        return Err(Reason::Hdf5(format!(
            "attribute '{name}': the name '{}...' is longer than {HEADER_LIMIT} bytes, which \
             Keras cannot save either",
            &v[..v.char_indices().nth(40).map_or(v.len(), |(i, _)| i)]
        )));
    }
    let ascii = values.iter().all(|v| v.is_ascii());
    if values.len() * longest <= HEADER_LIMIT {
        return if ascii {
            let data = values
                .iter()
                .map(|v| VarLenAscii::from_ascii(v.as_bytes()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Reason::Hdf5(format!("attribute '{name}': {e}")))?;
            loc.new_attr::<VarLenAscii>()
                .shape(data.len())
                .create(name)
                .and_then(|a| a.write_raw(&data))
        } else {
            let data = values
                .iter()
                .map(|v| v.parse::<VarLenUnicode>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Reason::Hdf5(format!("attribute '{name}': {e}")))?;
            loc.new_attr::<VarLenUnicode>()
                .shape(data.len())
                .create(name)
                .and_then(|a| a.write_raw(&data))
        }
        .map_err(err);
    }
    let mut chunks = 2;
    while chunk_sizes(values.len(), chunks)
        .iter()
        .any(|&n| n * longest > HEADER_LIMIT)
    {
        chunks += 1;
    }
    let mut start = 0;
    for (i, n) in chunk_sizes(values.len(), chunks).into_iter().enumerate() {
        let key = format!("{name}{i}");
        fixed_strings(loc, &key, &values[start..start + n], longest, ascii)?;
        start += n;
    }
    Ok(())
}

/// numpy's `array_split(range(len), chunks)` sizes: the first `len % chunks` get one more.
fn chunk_sizes(len: usize, chunks: usize) -> Vec<usize> {
    (0..chunks)
        .map(|i| len / chunks + usize::from(i < len % chunks))
        .collect()
}

/// A fixed-length (NULLPAD) string array whose item size is `size` bytes. hdf5 needs the size
/// at compile time, so the data goes through the smallest of a ladder of sizes that holds it and
/// HDF5 converts to the exact size on write.
fn fixed_strings(
    loc: &hdf5::Location,
    name: &str,
    values: &[String],
    size: usize,
    ascii: bool,
) -> Result<(), Reason> {
    let descriptor = if ascii {
        TypeDescriptor::FixedAscii(size)
    } else {
        TypeDescriptor::FixedUnicode(size)
    };
    let attr = loc
        .new_attr_builder()
        .empty_as(&descriptor)
        .shape(values.len())
        .create(name)
        .map_err(|e| Reason::Hdf5(format!("attribute '{name}': {e}")))?;
    macro_rules! ladder {
        ($($n:literal),*) => {
            $(
                if size <= $n {
                    return write_fixed::<$n>(&attr, name, values, ascii);
                }
            )*
        };
    }
    ladder!(64, 256, 1024, 4096, 16384, 65536);
    Err(Reason::Hdf5(format!(
        "attribute '{name}': names of {size} bytes are too long"
    )))
}

fn write_fixed<const N: usize>(
    attr: &hdf5::Attribute,
    name: &str,
    values: &[String],
    ascii: bool,
) -> Result<(), Reason> {
    let bad = |e: String| Reason::Hdf5(format!("attribute '{name}': {e}"));
    if ascii {
        let data = values
            .iter()
            .map(|v| FixedAscii::<N>::from_ascii(v.as_bytes()).map_err(|e| bad(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        attr.write_raw(&data).map_err(|e| bad(e.to_string()))
    } else {
        let data = values
            .iter()
            .map(|v| v.parse::<FixedUnicode<N>>().map_err(|e| bad(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        attr.write_raw(&data).map_err(|e| bad(e.to_string()))
    }
}

/// A weight dataset at `path` under `group` (intermediate groups made as h5py does), float32,
/// or int64 for counts.
pub(crate) fn dataset(
    group: &hdf5::Group,
    path: &str,
    tensor: &Tensor,
    int64: bool,
) -> Result<(), Reason> {
    let shape = tensor.shape().to_vec();
    let err = |e: hdf5::Error| Reason::Hdf5(format!("dataset '{path}': {e}"));
    if int64 {
        let data: Vec<i64> = tensor.data().iter().map(|&v| v as i64).collect();
        let ds = group
            .new_dataset::<i64>()
            .shape(shape)
            .create(path)
            .map_err(err)?;
        ds.write_raw(&data).map_err(err)
    } else {
        let ds = group
            .new_dataset::<f32>()
            .shape(shape)
            .create(path)
            .map_err(err)?;
        ds.write_raw(tensor.data()).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::chunk_sizes;

    #[test]
    fn splits_like_numpy() {
        assert_eq!(chunk_sizes(37, 2), vec![19, 18]);
        assert_eq!(chunk_sizes(10, 3), vec![4, 3, 3]);
    }
}
