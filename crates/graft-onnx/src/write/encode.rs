//! Streaming protobuf encoding: the model without its initializers is encoded by prost; the
//! initializers are written after it, inside the graph message, straight from the IR's weight
//! buffers (protobuf lets a message's fields come in any order, and repeated fields
//! concatenate). Nothing the size of the weights is ever copied in memory. The model's weights can
//! go to an external data file instead of `raw_data` (models over protobuf's 2 GB); the small
//! constants made while lowering stay inline (see [`external`]).

use std::io::{self, Write};

use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};
use tract_onnx::pb::tensor_proto::DataLocation;
use tract_onnx::pb::{ModelProto, StringStringEntryProto, TensorProto};

use super::builder::{Init, InitData};

/// Where each initializer's bytes go.
pub(crate) enum Placement {
    Inline,
    /// In the named external file, at these offsets (one per initializer, in order; `None`: this
    /// one stays inline).
    External {
        location: String,
        offsets: Vec<Option<u64>>,
    },
}

impl Placement {
    /// Where initializer `index`'s bytes start in the external file, if they go there.
    fn offset(&self, index: usize) -> Option<u64> {
        match self {
            Placement::Inline => None,
            Placement::External { offsets, .. } => offsets[index],
        }
    }
}

/// Whether an initializer goes to the external data file when there is one: the IR's weights
/// do; the constants made while lowering (pads, shapes, axes, scales, BatchNorm's unit scale)
/// do not. ONNX shape inference, which `onnx.checker` (full check) and onnxruntime run on
/// loading, reads Pad's pads, Reshape's shape or Resize's scales as constants and fails on an
/// external one ("Cannot parse data from external tensors"); the onnx package's own
/// `convert_model_to_external_data` likewise keeps small tensors inline.
pub(crate) fn external(init: &Init) -> bool {
    matches!(init.data, InitData::Weight(_))
}

/// The tensor message without its data.
fn header(init: &Init, placement: &Placement, index: usize) -> TensorProto {
    let mut t = TensorProto {
        dims: init.dims.clone(),
        data_type: init.data_type() as i32,
        name: init.name.clone(),
        ..Default::default()
    };
    if let (Placement::External { location, .. }, Some(offset)) =
        (placement, placement.offset(index))
    {
        t.data_location = Some(DataLocation::External as i32);
        t.external_data = vec![
            StringStringEntryProto {
                key: "location".into(),
                value: location.clone(),
            },
            StringStringEntryProto {
                key: "offset".into(),
                value: offset.to_string(),
            },
            StringStringEntryProto {
                key: "length".into(),
                value: init.byte_len().to_string(),
            },
        ];
    }
    t
}

/// `raw_data` is field 9 of TensorProto; `initializer` field 5 of GraphProto; `graph` field 7
/// of ModelProto.
const RAW_DATA: u32 = 9;
const INITIALIZER: u32 = 5;
const GRAPH: u32 = 7;

fn key_len(tag: u32) -> usize {
    encoded_len_varint(u64::from(tag << 3))
}

/// Writes the values of an initializer as little-endian bytes, in chunks.
pub(crate) fn write_data(
    w: &mut impl Write,
    data: &InitData,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    match data {
        InitData::Weight(t) => write_f32(w, t.data(), &mut buf, progress),
        InitData::F32(v) => write_f32(w, v, &mut buf, progress),
        InitData::I64(v) => {
            for x in v {
                buf.extend_from_slice(&x.to_le_bytes());
            }
            progress(buf.len() as u64);
            w.write_all(&buf)
        }
    }
}

fn write_f32(
    w: &mut impl Write,
    v: &[f32],
    buf: &mut Vec<u8>,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    for chunk in v.chunks(1 << 14) {
        buf.clear();
        for x in chunk {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        w.write_all(buf)?;
        progress(buf.len() as u64);
    }
    Ok(())
}

/// Writes `model` (whose graph holds no initializers) followed, inside its graph, by `inits`.
pub(crate) fn write_model(
    w: &mut impl Write,
    mut model: ModelProto,
    inits: &[Init],
    placement: &Placement,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    let graph = model.graph.take().expect("a graph");
    let head = model.encode_to_vec();
    let graph_bytes = graph.encode_to_vec();
    let headers: Vec<Vec<u8>> = inits
        .iter()
        .enumerate()
        .map(|(i, init)| header(init, placement, i).encode_to_vec())
        .collect();
    let inline = |i: usize| placement.offset(i).is_none();
    let tensor_len = |i: usize| -> u64 {
        let h = headers[i].len() as u64;
        if inline(i) {
            let n = inits[i].byte_len();
            h + key_len(RAW_DATA) as u64 + encoded_len_varint(n) as u64 + n
        } else {
            h
        }
    };
    let mut graph_len = graph_bytes.len() as u64;
    for i in 0..inits.len() {
        let t = tensor_len(i);
        graph_len += key_len(INITIALIZER) as u64 + encoded_len_varint(t) as u64 + t;
    }
    let mut prefix = Vec::with_capacity(16);
    w.write_all(&head)?;
    encode_key(GRAPH, WireType::LengthDelimited, &mut prefix);
    encode_varint(graph_len, &mut prefix);
    w.write_all(&prefix)?;
    w.write_all(&graph_bytes)?;
    for (i, init) in inits.iter().enumerate() {
        prefix.clear();
        encode_key(INITIALIZER, WireType::LengthDelimited, &mut prefix);
        encode_varint(tensor_len(i), &mut prefix);
        w.write_all(&prefix)?;
        w.write_all(&headers[i])?;
        if inline(i) {
            prefix.clear();
            encode_key(RAW_DATA, WireType::LengthDelimited, &mut prefix);
            encode_varint(init.byte_len(), &mut prefix);
            w.write_all(&prefix)?;
            write_data(w, &init.data, progress)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::GraphProto;

    #[test]
    fn streamed_model_decodes_like_a_built_one() {
        let t =
            graft_ir::Tensor::new(vec![2, 3], (0..6).map(|v| v as f32 * 0.5).collect()).unwrap();
        let inits = vec![
            Init {
                name: "w".into(),
                dims: vec![2, 3],
                data: InitData::Weight(&t),
            },
            Init {
                name: "pads".into(),
                dims: vec![2],
                data: InitData::I64(vec![1, -2]),
            },
        ];
        let model = ModelProto {
            ir_version: 8,
            producer_name: "graft".into(),
            graph: Some(GraphProto {
                name: "g".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut bytes = Vec::new();
        write_model(&mut bytes, model, &inits, &Placement::Inline, &mut |_| {}).unwrap();
        let back = ModelProto::decode(bytes.as_slice()).unwrap();
        let g = back.graph.unwrap();
        assert_eq!(g.name, "g");
        assert_eq!(g.initializer.len(), 2);
        assert_eq!(g.initializer[0].dims, vec![2, 3]);
        let v: Vec<f32> = g.initializer[0]
            .raw_data
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(v, t.data());
        assert_eq!(g.initializer[1].raw_data.len(), 16);
        assert_eq!(back.producer_name, "graft");
    }

    /// With external data, the IR's weights point into the data file and the constants made
    /// while lowering keep their bytes inline.
    #[test]
    fn external_placement_keeps_lowering_constants_inline() {
        let t = graft_ir::Tensor::new(vec![2, 3], vec![0.5; 6]).unwrap();
        let inits = vec![
            Init {
                name: "w".into(),
                dims: vec![2, 3],
                data: InitData::Weight(&t),
            },
            Init {
                name: "pads".into(),
                dims: vec![2],
                data: InitData::I64(vec![1, -2]),
            },
            Init {
                name: "scale".into(),
                dims: vec![],
                data: InitData::F32(vec![2.0]),
            },
        ];
        assert_eq!(
            inits.iter().map(external).collect::<Vec<_>>(),
            [true, false, false]
        );
        let placement = Placement::External {
            location: "m.onnx.data".into(),
            offsets: vec![Some(0), None, None],
        };
        let model = ModelProto {
            graph: Some(GraphProto::default()),
            ..Default::default()
        };
        let mut bytes = Vec::new();
        write_model(&mut bytes, model, &inits, &placement, &mut |_| {}).unwrap();
        let g = ModelProto::decode(bytes.as_slice()).unwrap().graph.unwrap();
        let w = &g.initializer[0];
        assert_eq!(w.data_location, Some(DataLocation::External as i32));
        assert!(w.raw_data.is_empty());
        let kv: Vec<(&str, &str)> = w
            .external_data
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            kv,
            [
                ("location", "m.onnx.data"),
                ("offset", "0"),
                ("length", "24")
            ]
        );
        for (i, len) in [(1, 16), (2, 4)] {
            let c = &g.initializer[i];
            assert_ne!(c.data_location, Some(DataLocation::External as i32));
            assert!(c.external_data.is_empty());
            assert_eq!(c.raw_data.len(), len);
        }
    }
}
