//! A small functional-API helper: appends layers to a [`Graph`] the way Keras' functional API
//! does, with Keras 3's automatic names and the shapes known as the graph grows.

use std::collections::HashMap;

use graft_ir::{
    Activation, BatchNormConfig, ConvConfig, DType, DataFormat, DenseConfig, DepthwiseConvConfig,
    DropoutConfig, FlattenConfig, GlobalPoolConfig, Graph, InputConfig, Layer, MathConfig, MathOp,
    MergeKind, Op, Padding, PoolConfig, PoolKind, ReluConfig, Shape, TensorRef, ZeroPaddingConfig,
};

use crate::error::Result;

/// A graph under construction.
pub(crate) struct Net {
    graph: Graph,
    shapes: HashMap<String, Shape>,
    uids: HashMap<&'static str, usize>,
}

/// Options of a 2D convolution, as `layers.Conv2D(...)` takes them.
pub(crate) struct Conv {
    pub filters: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: Padding,
    pub use_bias: bool,
    pub activation: Activation,
}

impl Conv {
    /// `Conv2D(filters, kernel)`: stride 1, `valid`, with bias, linear.
    pub fn new(filters: usize, kernel: usize) -> Conv {
        Conv {
            filters,
            kernel,
            stride: 1,
            padding: Padding::Valid,
            use_bias: true,
            activation: Activation::Linear,
        }
    }

    pub fn stride(mut self, stride: usize) -> Conv {
        self.stride = stride;
        self
    }

    pub fn same(mut self) -> Conv {
        self.padding = Padding::Same;
        self
    }

    pub fn no_bias(mut self) -> Conv {
        self.use_bias = false;
        self
    }

    pub fn activation(mut self, activation: Activation) -> Conv {
        self.activation = activation;
        self
    }
}

impl Net {
    /// An empty model called `name`.
    pub fn new(name: &str) -> Net {
        Net {
            graph: Graph::new(name),
            shapes: HashMap::new(),
            uids: HashMap::new(),
        }
    }

    /// Keras 3's automatic name for a layer of class `base` (snake case): `re_lu`, `re_lu_1`...
    pub fn auto(&mut self, base: &'static str) -> String {
        let uid = self.uids.entry(base).or_insert(0);
        *uid += 1;
        if *uid == 1 {
            base.to_string()
        } else {
            format!("{base}_{}", *uid - 1)
        }
    }

    /// `layers.Input(shape=(h, w, c))`, named `input_layer` as Keras 3 names it.
    pub fn input(&mut self, shape: [Option<usize>; 3]) -> TensorRef {
        let name = self.auto("input_layer");
        let mut dims = vec![None];
        dims.extend(shape);
        let shape = Shape::new(dims);
        self.shapes.insert(name.clone(), shape.clone());
        self.graph.push_input(
            name,
            InputConfig {
                shape,
                dtype: DType::F32,
            },
        )
    }

    /// Appends a layer called on `inputs` and returns its output.
    pub fn layer(&mut self, name: String, op: Op, inputs: Vec<TensorRef>) -> Result<TensorRef> {
        let shapes: Vec<Shape> = inputs.iter().map(|r| self.shape(r)).collect();
        let out = op
            .infer(&shapes)
            .map_err(|message| graft_ir::IrError::Shape {
                layer: name.clone(),
                type_name: op.type_name(),
                message,
            })?;
        self.shapes.insert(name.clone(), out[0].clone());
        Ok(self.graph.push(Layer::new(name, op), inputs))
    }

    /// The output shape of `x`.
    pub fn shape(&self, x: &TensorRef) -> Shape {
        self.shapes.get(&x.layer).cloned().unwrap_or_default()
    }

    /// The channel count of `x` (channels last).
    pub fn channels(&self, x: &TensorRef) -> usize {
        self.shape(x).last().unwrap_or(0)
    }

    /// The spatial size of a 4D `x`.
    pub fn spatial(&self, x: &TensorRef) -> [Option<usize>; 2] {
        let s = self.shape(x);
        [s.dims()[1], s.dims()[2]]
    }

    /// `Conv2D`.
    pub fn conv(&mut self, name: impl Into<String>, x: &TensorRef, c: Conv) -> Result<TensorRef> {
        let op = Op::Conv(ConvConfig {
            filters: c.filters,
            kernel_size: vec![c.kernel; 2],
            strides: vec![c.stride; 2],
            padding: c.padding,
            dilation: vec![1, 1],
            groups: 1,
            use_bias: c.use_bias,
            activation: c.activation,
            data_format: DataFormat::ChannelsLast,
        });
        self.layer(name.into(), op, vec![x.clone()])
    }

    /// `DepthwiseConv2D` without bias.
    pub fn depthwise(
        &mut self,
        name: impl Into<String>,
        x: &TensorRef,
        kernel: usize,
        stride: usize,
        depth_multiplier: usize,
        same: bool,
    ) -> Result<TensorRef> {
        let op = Op::DepthwiseConv(DepthwiseConvConfig {
            depth_multiplier,
            kernel_size: vec![kernel; 2],
            strides: vec![stride; 2],
            padding: if same { Padding::Same } else { Padding::Valid },
            dilation: vec![1, 1],
            use_bias: false,
            activation: Activation::Linear,
            data_format: DataFormat::ChannelsLast,
        });
        self.layer(name.into(), op, vec![x.clone()])
    }

    /// `BatchNormalization(axis, epsilon, momentum)`.
    pub fn bn(
        &mut self,
        name: impl Into<String>,
        x: &TensorRef,
        axis: i64,
        epsilon: f64,
        momentum: f64,
    ) -> Result<TensorRef> {
        let op = Op::BatchNorm(BatchNormConfig {
            axis,
            epsilon,
            momentum,
            center: true,
            scale: true,
        });
        self.layer(name.into(), op, vec![x.clone()])
    }

    /// `Activation(activation)`; `name` `None` for an automatic name.
    pub fn activation(
        &mut self,
        name: Option<String>,
        x: &TensorRef,
        activation: Activation,
    ) -> Result<TensorRef> {
        let name = name.unwrap_or_else(|| self.auto("activation"));
        self.layer(name, Op::Activation(activation), vec![x.clone()])
    }

    /// `ReLU(max_value)`; `name` `None` for an automatic name.
    pub fn relu(
        &mut self,
        name: Option<String>,
        x: &TensorRef,
        max_value: Option<f32>,
    ) -> Result<TensorRef> {
        let name = name.unwrap_or_else(|| self.auto("re_lu"));
        let op = Op::ReLU(ReluConfig {
            max_value,
            negative_slope: 0.0,
            threshold: 0.0,
        });
        self.layer(name, op, vec![x.clone()])
    }

    /// `ZeroPadding2D(((top, bottom), (left, right)))`.
    pub fn zero_pad(
        &mut self,
        name: impl Into<String>,
        x: &TensorRef,
        padding: Vec<(usize, usize)>,
    ) -> Result<TensorRef> {
        let op = Op::ZeroPadding(ZeroPaddingConfig {
            padding,
            data_format: DataFormat::ChannelsLast,
        });
        self.layer(name.into(), op, vec![x.clone()])
    }

    /// `MaxPooling2D(pool, strides)` with `valid` padding; `name` `None` for an automatic name.
    pub fn max_pool(
        &mut self,
        name: Option<String>,
        x: &TensorRef,
        pool: usize,
        stride: usize,
    ) -> Result<TensorRef> {
        let name = name.unwrap_or_else(|| self.auto("max_pooling2d"));
        let op = Op::Pool(PoolConfig {
            kind: PoolKind::Max,
            pool_size: vec![pool; 2],
            strides: vec![stride; 2],
            padding: Padding::Valid,
            data_format: DataFormat::ChannelsLast,
            ceil_mode: false,
            count_include_pad: false,
        });
        self.layer(name, op, vec![x.clone()])
    }

    /// `GlobalAveragePooling2D` / `GlobalMaxPooling2D`; `name` `None` for an automatic name.
    pub fn global_pool(
        &mut self,
        name: Option<String>,
        x: &TensorRef,
        kind: PoolKind,
        keepdims: bool,
    ) -> Result<TensorRef> {
        let name = name.unwrap_or_else(|| match kind {
            PoolKind::Average => self.auto("global_average_pooling2d"),
            PoolKind::Max => self.auto("global_max_pooling2d"),
        });
        let op = Op::GlobalPool(GlobalPoolConfig {
            kind,
            keepdims,
            data_format: DataFormat::ChannelsLast,
            rank: 2,
        });
        self.layer(name, op, vec![x.clone()])
    }

    /// `Dense(units, activation)`.
    pub fn dense(
        &mut self,
        name: impl Into<String>,
        x: &TensorRef,
        units: usize,
        activation: Activation,
    ) -> Result<TensorRef> {
        let op = Op::Dense(DenseConfig {
            units,
            use_bias: true,
            activation,
        });
        self.layer(name.into(), op, vec![x.clone()])
    }

    /// `Flatten`; `name` `None` for an automatic name.
    pub fn flatten(&mut self, name: Option<String>, x: &TensorRef) -> Result<TensorRef> {
        let name = name.unwrap_or_else(|| self.auto("flatten"));
        let op = Op::Flatten(FlattenConfig {
            data_format: DataFormat::ChannelsLast,
        });
        self.layer(name, op, vec![x.clone()])
    }

    /// `Dropout(rate)`; `name` `None` for an automatic name. Keras 3 records `training=False` on
    /// the call but overrides it with the model's own `training` when run, so the call here
    /// carries none (as graft-keras reads Keras 3 files).
    pub fn dropout(&mut self, name: Option<String>, x: &TensorRef, rate: f64) -> Result<TensorRef> {
        let name = name.unwrap_or_else(|| self.auto("dropout"));
        let op = Op::Dropout(DropoutConfig {
            rate: rate as f32,
            noise_shape: None,
            seed: None,
        });
        self.layer(name, op, vec![x.clone()])
    }

    /// `layers.Add` / `layers.Multiply` of two tensors.
    pub fn merge(
        &mut self,
        name: impl Into<String>,
        kind: MergeKind,
        a: &TensorRef,
        b: &TensorRef,
    ) -> Result<TensorRef> {
        self.layer(name.into(), Op::Merge(kind), vec![a.clone(), b.clone()])
    }

    /// `x + c` / `x * c` on a symbolic tensor: a `keras.ops` operation named `add` / `multiply`.
    pub fn scalar(&mut self, op: MathOp, x: &TensorRef, value: f64) -> Result<TensorRef> {
        let name = match op {
            MathOp::Add => self.auto("add"),
            MathOp::Multiply => self.auto("multiply"),
            _ => unreachable!("only + and * appear in the applications"),
        };
        let op = Op::Math(MathConfig {
            op,
            scalar: Some(value as f32),
            scalar_first: false,
        });
        self.layer(name, op, vec![x.clone()])
    }

    /// The finished graph with `output` as its output, its layers in Keras' order.
    pub fn finish(mut self, output: TensorRef) -> Graph {
        self.graph.outputs = vec![output];
        keras_order(&mut self.graph);
        self.graph
    }
}

impl Net {
    /// The `pooling=` head of `include_top=False`: Keras names the layers `avg_pool` /
    /// `max_pool` in ResNet and MobileNetV3 (`named`), automatically elsewhere.
    pub fn pooling(
        &mut self,
        x: TensorRef,
        pooling: crate::options::Pooling,
        named: bool,
    ) -> Result<TensorRef> {
        use crate::options::Pooling;
        let (kind, name) = match pooling {
            Pooling::None => return Ok(x),
            Pooling::Avg => (PoolKind::Average, "avg_pool"),
            Pooling::Max => (PoolKind::Max, "max_pool"),
        };
        self.global_pool(named.then(|| name.to_string()), &x, kind, false)
    }
}

/// Puts the layers in the order of Keras' `model.layers` (`keras/src/ops/function.py`,
/// `map_graph`): a depth-first walk from the output numbers the layers as first met; a layer's
/// depth is the longest path from it to the output; layers go by decreasing depth, then by that
/// number. Keras' files list layers in this order, and legacy weights files load by it.
fn keras_order(graph: &mut Graph) {
    let index: HashMap<&str, usize> = graph
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    let parents: Vec<Vec<usize>> = graph
        .layers
        .iter()
        .map(|l| {
            l.nodes
                .first()
                .map(|n| n.inputs.iter().map(|r| index[r.layer.as_str()]).collect())
                .unwrap_or_default()
        })
        .collect();
    let n = graph.layers.len();
    let mut first_seen: Vec<Option<usize>> = vec![None; n];
    let mut finished = vec![false; n];
    let mut post = Vec::with_capacity(n);
    let mut seen = 0;
    // Iterative DFS: (layer, next input to visit).
    for out in &graph.outputs {
        let mut stack = vec![(index[out.layer.as_str()], 0usize)];
        while let Some(&mut (i, ref mut next)) = stack.last_mut() {
            if *next == 0 {
                if finished[i] {
                    stack.pop();
                    continue;
                }
                if first_seen[i].is_none() {
                    first_seen[i] = Some(seen);
                    seen += 1;
                }
            }
            if let Some(&p) = parents[i].get(*next) {
                *next += 1;
                stack.push((p, 0));
            } else {
                finished[i] = true;
                post.push(i);
                stack.pop();
            }
        }
    }
    let mut depth = vec![0usize; n];
    for &i in post.iter().rev() {
        for &p in &parents[i] {
            depth[p] = depth[p].max(depth[i] + 1);
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| {
        (
            std::cmp::Reverse(depth[i]),
            first_seen[i].unwrap_or(usize::MAX),
        )
    });
    let mut slots: Vec<Option<Layer>> = std::mem::take(&mut graph.layers)
        .into_iter()
        .map(Some)
        .collect();
    graph.layers = order.into_iter().filter_map(|i| slots[i].take()).collect();
}
