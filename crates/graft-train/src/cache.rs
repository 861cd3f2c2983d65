//! Feature caching: when everything below the trainable layers is frozen and deterministic, and
//! the data carries no random augmentation, the frozen part's outputs are the same every epoch.
//! They are computed once, kept in memory (or spilled to a temporary file above a limit), and the
//! trainable part trains on them.
//!
//! The cut is found, not declared: the *frontier* is the set of values that flow from layers that
//! do not train into layers that do (or that depend on ones that do).

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};

use burn::module::Module;
use graft_burn::value::{Dyn, Value};
use graft_burn::{Device, GraphModule, download};
use graft_ir::{Graph, Op, Tensor, TensorRef};

use crate::data::{Batch, DataSource};
use crate::error::TrainError;

/// True when `layer` (or, for a nested model, a layer inside it) has weights that train.
fn trains(layer: &graft_ir::Layer) -> bool {
    layer.trainable
        && match &layer.op {
            Op::Model(inner) => inner.layers.iter().any(trains),
            op => op.has_weights(),
        }
}

/// True when the layer can behave randomly in training mode (active dropout).
fn random_in_training(layer: &graft_ir::Layer) -> bool {
    match &layer.op {
        Op::Dropout(d) => d.rate > 0.0,
        Op::Preprocessing(p) => p.is_random(),
        Op::Model(inner) => inner
            .layers
            .iter()
            .any(|l| random_in_training(l) && l.nodes.iter().all(|n| n.training != Some(false))),
        _ => false,
    }
}

/// The values to cache: outputs of non-training layers consumed by the training region. `None`
/// when caching cannot help (the region starts at the inputs) or is not exact (dropout before
/// the region).
pub(crate) fn frontier(graph: &Graph) -> Option<Vec<TensorRef>> {
    let order = graph.topological_order().ok()?;
    let mut region: HashSet<&str> = HashSet::new();
    for site in &order {
        let layer = &graph.layers[site.layer];
        let node = &layer.nodes[site.node];
        if trains(layer)
            || node
                .inputs
                .iter()
                .any(|r| region.contains(r.layer.as_str()))
        {
            region.insert(layer.name.as_str());
        }
    }
    if region.is_empty()
        || graph
            .outputs
            .iter()
            .any(|r| !region.contains(r.layer.as_str()))
    {
        return None;
    }
    // Random layers feeding the region (the head's Dropout) must run every step: pull them in,
    // so the cut lands just before them.
    loop {
        let additions: Vec<&str> = graph
            .layers
            .iter()
            .filter(|l| region.contains(l.name.as_str()))
            .flat_map(|l| l.nodes.iter().flat_map(|n| &n.inputs))
            .filter_map(|r| graph.layer(&r.layer))
            .filter(|p| {
                let inference_only = p.nodes.iter().all(|n| n.training == Some(false));
                !region.contains(p.name.as_str()) && random_in_training(p) && !inference_only
            })
            .map(|p| p.name.as_str())
            .collect();
        if additions.is_empty() {
            break;
        }
        region.extend(additions);
    }
    let mut cut: Vec<TensorRef> = vec![];
    for layer in graph
        .layers
        .iter()
        .filter(|l| region.contains(l.name.as_str()))
    {
        for r in layer.nodes.iter().flat_map(|n| &n.inputs) {
            if !region.contains(r.layer.as_str()) && !cut.contains(r) {
                cut.push(r.clone());
            }
        }
    }
    // Nothing to save when the cut is the model's inputs.
    let inputs: HashSet<&str> = graph.inputs.iter().map(|r| r.layer.as_str()).collect();
    if cut.iter().all(|r| inputs.contains(r.layer.as_str())) {
        return None;
    }
    // Everything upstream of the cut must be deterministic in training mode.
    let mut stack: Vec<&str> = cut.iter().map(|r| r.layer.as_str()).collect();
    let mut seen: HashSet<&str> = HashSet::new();
    while let Some(name) = stack.pop() {
        if !seen.insert(name) {
            continue;
        }
        let layer = graph.layer(name)?;
        let called_in_inference = layer.nodes.iter().all(|n| n.training == Some(false));
        if random_in_training(layer) && !called_in_inference {
            return None;
        }
        for r in layer.nodes.iter().flat_map(|n| &n.inputs) {
            stack.push(r.layer.as_str());
        }
    }
    Some(cut)
}

/// Rows of one cached value.
enum Rows {
    Memory(Vec<f32>),
    /// Spilled to a temporary file (removed on drop).
    Disk(tempfile::NamedTempFile),
}

struct Store {
    /// Logical shape of one sample.
    row_shape: Vec<usize>,
    row: usize,
    rows: Rows,
}

impl Store {
    fn gather(&mut self, indices: &[usize]) -> Result<Vec<f32>, TrainError> {
        let mut out = Vec::with_capacity(indices.len() * self.row);
        match &mut self.rows {
            Rows::Memory(data) => {
                for &i in indices {
                    out.extend_from_slice(&data[i * self.row..(i + 1) * self.row]);
                }
            }
            Rows::Disk(file) => {
                let mut buf = vec![0u8; self.row * 4];
                let f = file.as_file_mut();
                for &i in indices {
                    f.seek(SeekFrom::Start((i * self.row * 4) as u64))
                        .and_then(|_| f.read_exact(&mut buf))
                        .map_err(|e| TrainError::Data(format!("reading cached features: {e}")))?;
                    out.extend(
                        buf.chunks_exact(4)
                            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                    );
                }
            }
        }
        Ok(out)
    }
}

/// The frozen part's outputs for every sample of one data source, with the samples' targets.
pub(crate) struct FeatureCache {
    /// Plan value ids of the cached values.
    pub ids: Vec<usize>,
    stores: Vec<Store>,
    targets: Tensor,
    sample_weight: Option<Vec<f32>>,
    /// Bytes held in memory (the rest is on disk).
    pub memory_bytes: usize,
    pub disk_bytes: usize,
}

/// The bytes of the largest activation one sample makes in `graph` (its top-level layers'
/// outputs, f32), or 0 when no shape is known.
pub(crate) fn largest_row_bytes(graph: &Graph) -> usize {
    let Ok(shapes) = graph.infer_shapes() else {
        return 0;
    };
    shapes
        .all()
        .filter_map(|shape| {
            shape
                .dims()
                .iter()
                .skip(1)
                .try_fold(4usize, |bytes, d| d.and_then(|d| bytes.checked_mul(d)))
        })
        .max()
        .unwrap_or(0)
}

impl FeatureCache {
    /// Runs the frozen part over every sample (in index order, inference mode) and keeps its
    /// outputs. Above `memory_limit` bytes, rows go to a temporary file instead. `row_bytes` is
    /// the largest activation of one sample (see [`largest_row_bytes`]).
    pub fn build(
        module: &GraphModule,
        device: &Device,
        ids: Vec<usize>,
        data: &dyn DataSource,
        memory_limit: usize,
        row_bytes: usize,
    ) -> Result<Self, TrainError> {
        let frozen = module.valid();
        // `valid()` parameters live on the plain device: the inputs go there too, or the whole
        // frozen pass would be recorded for a backward pass that never comes.
        let device = &device.clone().without_autodiff();
        let inputs: Vec<usize> = frozen.plan.inputs.iter().map(|i| i.value).collect();
        let n = data.len();
        // Sub-batches whose activations stay under the allocator's mmap threshold, so their
        // buffers are recycled by malloc rather than mapped afresh (see graft_burn::memory).
        let bs = graft_burn::memory::rows_under_mmap_threshold(row_bytes, data.batch_size());
        let mut stores: Vec<Store> = vec![];
        let mut targets: Vec<f32> = vec![];
        let mut target_shape: Vec<usize> = vec![];
        let mut weights: Option<Vec<f32>> = None;
        let mut memory_bytes = 0usize;
        let mut disk_bytes = 0usize;
        let all: Vec<usize> = (0..n).collect();
        for chunk in all.chunks(bs) {
            let batch: Batch = data.load(chunk, 0)?;
            let known: Vec<(usize, Value)> = inputs
                .iter()
                .zip(&batch.inputs)
                .map(|(&id, t)| {
                    (
                        id,
                        Value::logical(Dyn::from_host(t.shape(), t.data().to_vec(), device)),
                    )
                })
                .collect();
            let values = frozen.forward_subset(known, &ids, false)?;
            for (k, v) in values.into_iter().enumerate() {
                let t = download(v);
                if stores.len() <= k {
                    let row_shape = t.shape()[1..].to_vec();
                    let row: usize = row_shape.iter().product();
                    let bytes = n * row * 4;
                    let rows = if memory_bytes + bytes <= memory_limit {
                        memory_bytes += bytes;
                        Rows::Memory(Vec::with_capacity(n * row))
                    } else {
                        disk_bytes += bytes;
                        Rows::Disk(tempfile::NamedTempFile::new().map_err(|e| {
                            TrainError::Data(format!("cannot create a feature cache file: {e}"))
                        })?)
                    };
                    stores.push(Store {
                        row_shape,
                        row,
                        rows,
                    });
                }
                match &mut stores[k].rows {
                    Rows::Memory(data) => data.extend_from_slice(t.data()),
                    Rows::Disk(file) => {
                        let bytes: Vec<u8> =
                            t.data().iter().flat_map(|v| v.to_le_bytes()).collect();
                        file.write_all(&bytes).map_err(|e| {
                            TrainError::Data(format!("writing cached features: {e}"))
                        })?;
                    }
                }
            }
            target_shape = batch.targets.shape().to_vec();
            targets.extend_from_slice(batch.targets.data());
            if let Some(w) = batch.sample_weight {
                weights.get_or_insert_with(Vec::new).extend(w);
            }
        }
        if let Some(first) = target_shape.first_mut() {
            *first = n;
        }
        let targets = Tensor::new(target_shape, targets)
            .map_err(|e| TrainError::Data(format!("cached targets: {e}")))?;
        Ok(Self {
            ids,
            stores,
            targets,
            sample_weight: weights,
            memory_bytes,
            disk_bytes,
        })
    }

    /// The cached values and targets of samples `indices`.
    pub fn batch(
        &mut self,
        indices: &[usize],
        device: &Device,
    ) -> Result<(Vec<(usize, Value)>, Batch), TrainError> {
        let mut known = Vec::with_capacity(self.stores.len());
        for (store, &id) in self.stores.iter_mut().zip(&self.ids) {
            let data = store.gather(indices)?;
            let mut shape = vec![indices.len()];
            shape.extend(&store.row_shape);
            known.push((id, Value::logical(Dyn::from_host(&shape, data, device))));
        }
        let batch = Batch {
            inputs: vec![],
            targets: crate::data::gather_rows(&self.targets, indices),
            sample_weight: self
                .sample_weight
                .as_ref()
                .map(|w| indices.iter().map(|&i| w[i]).collect()),
        };
        Ok((known, batch))
    }
}

#[cfg(test)]
mod tests {
    use graft_ir::{
        Activation, DType, DenseConfig, Graph, InputConfig, Layer, Op, Shape, ZeroPaddingConfig,
    };

    use super::largest_row_bytes;

    /// The largest activation of one sample, over every call (batch axis left out), in bytes.
    #[test]
    fn largest_row_is_the_widest_output() {
        let mut g = Graph::new("g");
        let x = g.push_input(
            "x",
            InputConfig {
                shape: Shape::batched(&[4, 4, 3]),
                dtype: DType::F32,
            },
        );
        // 4x4x3 -> padded 6x8x3 (144 floats) -> Dense(5) on the last axis: 6x8x5 (240 floats).
        let pad = Op::ZeroPadding(ZeroPaddingConfig {
            padding: vec![(1, 1), (2, 2)],
            data_format: graft_ir::DataFormat::ChannelsLast,
        });
        let x = g.push(Layer::new("pad", pad), vec![x]);
        let dense = Op::Dense(DenseConfig {
            units: 5,
            use_bias: true,
            activation: Activation::Linear,
        });
        let y = g.push(Layer::new("dense", dense), vec![x]);
        g.outputs = vec![y];
        assert_eq!(largest_row_bytes(&g), 6 * 8 * 5 * 4);
        // A graph whose shapes cannot be inferred gives 0 (the cache then runs whole batches).
        let mut broken = g.clone();
        broken.layers[2].nodes[0].inputs[0].layer = "missing".into();
        assert_eq!(largest_row_bytes(&broken), 0);
    }
}
