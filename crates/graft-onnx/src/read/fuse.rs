//! Node patterns that read as one layer, found before any node is mapped (some hold ops graft
//! has no layer for, such as `Erf`, `Less` and `Where`):
//!
//! - GELU through `Erf`: `0.5 * x * (1 + erf(x / sqrt(2)))` (graft's and PyTorch's spelling;
//!   `x * (1/sqrt(2))` and the three orders of the final products too);
//! - GELU's tanh approximation: `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))`;
//! - Keras' general ReLU as graft writes it: `Where(x < t, s * (x - t), x)`, then `Min(., max)`
//!   when the `Where` node is named `<min node>/relu`.
//!
//! In files graft wrote, two more, by their node names (`<layer>/<role>` then `<layer>`):
//!
//! - `Rescaling`: `Mul(x, scale)` `<layer>/scaled`, then `Add(., offset)` `<layer>`, the
//!   constants scalars or vectors;
//! - `Normalization` with its statistics in the config: `Sub(x, mean)` `<layer>/centred`, then
//!   `Div(., std)` `<layer>` (inverted: `Mul(x, std)` then `Add(., mean)`), the constants of
//!   the input's rank with one axis of their own (or scalars); the variance is `std^2`, whose
//!   square root gives `std` back exactly.
//!
//! Every intermediate value must be read by the pattern only. The pattern's last node keeps its
//! name for the layer; the nodes it absorbs are dropped.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use graft_ir::{Activation, NormalizationConfig, Op, RescalingConfig};
use tract_onnx::pb::{GraphProto, NodeProto};

use super::proto::Attrs;
use super::tensor;

/// One pattern found: node `last` becomes a layer doing `op` on value `input`; `absorbed`
/// nodes go.
#[derive(Clone, Debug)]
pub(crate) struct Fusion {
    pub last: usize,
    pub input: String,
    pub op: Op,
    pub absorbed: Vec<usize>,
}

/// A small constant read while finding patterns: its dims and values.
type Floats = (Vec<usize>, Vec<f32>);

/// A two-node affine pattern: the input value, the first node's constant, the last's.
type NamedPair<'a> = (&'a str, Floats, Floats);

/// Constants graft reads whole while finding patterns (a few statistics, not weights).
const MAX_PATTERN_CONST: i64 = 1 << 16;

struct View<'a> {
    g: &'a GraphProto,
    dir: &'a Path,
    /// Value name -> producing node.
    producer: HashMap<&'a str, usize>,
    /// Value name -> consuming nodes (one entry per use); graph outputs count as a use.
    consumers: HashMap<&'a str, Vec<usize>>,
    initializers: HashMap<&'a str, usize>,
}

const SQRT_2: f32 = std::f32::consts::SQRT_2;
const GELU_TANH_K: f32 = 0.044_715;

fn near(v: f32, want: f32) -> bool {
    (v - want).abs() <= 1e-6 * want.abs().max(1.0)
}

impl<'a> View<'a> {
    fn new(g: &'a GraphProto, dir: &'a Path) -> Self {
        let mut producer = HashMap::new();
        let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, n) in g.node.iter().enumerate() {
            for o in n.output.iter().filter(|o| !o.is_empty()) {
                producer.insert(o.as_str(), i);
            }
            for x in n.input.iter().filter(|x| !x.is_empty()) {
                consumers.entry(x.as_str()).or_default().push(i);
            }
        }
        for o in &g.output {
            consumers
                .entry(o.name.as_str())
                .or_default()
                .push(usize::MAX);
        }
        let initializers = g
            .initializer
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        Self {
            g,
            dir,
            producer,
            consumers,
            initializers,
        }
    }

    fn node(&self, i: usize) -> &'a NodeProto {
        &self.g.node[i]
    }

    /// The node producing `v` when it is `op` (default domain) with one output.
    fn made_by(&self, v: &str, op: &str) -> Option<usize> {
        let i = *self.producer.get(v)?;
        let n = self.node(i);
        (n.op_type == op
            && super::is_default_domain(&n.domain)
            && n.output.iter().filter(|o| !o.is_empty()).count() == 1)
            .then_some(i)
    }

    /// The only reader of `v`, when it is `op`.
    fn only_reader(&self, v: &str, op: &str) -> Option<usize> {
        match self.consumers.get(v).map(Vec::as_slice) {
            Some(&[i]) if i != usize::MAX => {
                let n = self.node(i);
                (n.op_type == op && super::is_default_domain(&n.domain)).then_some(i)
            }
            _ => None,
        }
    }

    /// A one-element constant (initializer or `Constant` node) as a float.
    fn scalar(&self, v: &str) -> Option<f32> {
        let c = if let Some(&i) = self.initializers.get(v) {
            let t = &self.g.initializer[i];
            if t.dims.iter().product::<i64>() != 1 {
                return None;
            }
            tensor::decode(t, self.dir).ok()?
        } else {
            let n = self.node(*self.producer.get(v)?);
            if n.op_type != "Constant" {
                return None;
            }
            let a = Attrs::new(n);
            if a.has("value_float") {
                return Some(a.float("value_float", 0.0));
            }
            let t = a.tensor("value")?;
            if t.dims.iter().product::<i64>() != 1 {
                return None;
            }
            tensor::decode(t, self.dir).ok()?
        };
        c.to_f32().ok().filter(|v| v.len() == 1).map(|v| v[0])
    }

    fn inputs(&self, i: usize) -> Option<(&'a str, &'a str)> {
        match self.node(i).input.as_slice() {
            [a, b] => Some((a.as_str(), b.as_str())),
            _ => None,
        }
    }

    /// For a binary node, the operand other than a scalar constant equal to `c`
    /// (`commutative`: either side).
    fn with_scalar(&self, i: usize, c: f32, commutative: bool) -> Option<&'a str> {
        let (a, b) = self.inputs(i)?;
        if self.scalar(b).is_some_and(|v| near(v, c)) {
            return Some(a);
        }
        if commutative && self.scalar(a).is_some_and(|v| near(v, c)) {
            return Some(b);
        }
        None
    }

    /// For a binary node, the other operand when one is `v`.
    fn other(&self, i: usize, v: &str) -> Option<&'a str> {
        let (a, b) = self.inputs(i)?;
        if a == v {
            Some(b)
        } else if b == v {
            Some(a)
        } else {
            None
        }
    }

    fn out(&self, i: usize) -> &'a str {
        self.node(i).output[0].as_str()
    }

    /// `1 + p` read by the `Add` node `add`, then `0.5 * x * (.)` in one of three orders. Returns
    /// the last node and the absorbed ones.
    fn half_x_times(&self, add: usize, x: &str) -> Option<(usize, Vec<usize>)> {
        let p = self.out(add);
        let m1 = self.only_reader(p, "Mul")?;
        let o = self.other(m1, p)?;
        // (x * p) * 0.5
        if o == x
            && let Some(last) = self.only_reader(self.out(m1), "Mul")
            && self.with_scalar(last, 0.5, true) == Some(self.out(m1))
        {
            return Some((last, vec![m1]));
        }
        // (x * 0.5) * p
        if let Some(h) = self.made_by(o, "Mul")
            && self.with_scalar(h, 0.5, true) == Some(x)
            && self.only_reader(o, "Mul") == Some(m1)
        {
            return Some((m1, vec![h]));
        }
        // (p * 0.5) * x
        if self.with_scalar(m1, 0.5, true) == Some(p)
            && let Some(last) = self.only_reader(self.out(m1), "Mul")
            && self.other(last, self.out(m1)) == Some(x)
        {
            return Some((last, vec![m1]));
        }
        None
    }

    fn gelu_erf(&self, erf: usize) -> Option<Fusion> {
        let d = self.node(erf).input.first()?.as_str();
        let (scale, x) = if let Some(i) = self.made_by(d, "Div") {
            (i, self.with_scalar(i, SQRT_2, false)?)
        } else {
            let i = self.made_by(d, "Mul")?;
            (i, self.with_scalar(i, 1.0 / SQRT_2, true)?)
        };
        self.only_reader(d, "Erf")?;
        let add = self.only_reader(self.out(erf), "Add")?;
        self.with_scalar(add, 1.0, true)?;
        let (last, mut absorbed) = self.half_x_times(add, x)?;
        absorbed.extend([scale, erf, add]);
        Some(Fusion {
            last,
            input: x.to_string(),
            op: Op::Activation(Activation::Gelu { approximate: false }),
            absorbed,
        })
    }

    fn gelu_tanh(&self, tanh: usize) -> Option<Fusion> {
        let arg = self.node(tanh).input.first()?.as_str();
        let scale = self.made_by(arg, "Mul")?;
        let inner = self.with_scalar(scale, (2.0 / std::f32::consts::PI).sqrt(), true)?;
        self.only_reader(arg, "Tanh")?;
        let sum = self.made_by(inner, "Add")?;
        self.only_reader(inner, "Mul")?;
        let (a, b) = self.inputs(sum)?;
        // x + k * x^3, either way round.
        let (x, kc, cube, pow) = [(a, b), (b, a)].into_iter().find_map(|(x, kc)| {
            let k = self.made_by(kc, "Mul")?;
            let cube = self.with_scalar(k, GELU_TANH_K, true)?;
            let pow = self.made_by(cube, "Pow")?;
            (self.with_scalar(pow, 3.0, false)? == x).then_some((x, k, cube, pow))
        })?;
        self.only_reader(self.out(kc), "Add")?;
        self.only_reader(cube, "Mul")?;
        let add = self.only_reader(self.out(tanh), "Add")?;
        self.with_scalar(add, 1.0, true)?;
        let (last, mut absorbed) = self.half_x_times(add, x)?;
        absorbed.extend([pow, kc, sum, scale, tanh, add]);
        Some(Fusion {
            last,
            input: x.to_string(),
            op: Op::Activation(Activation::Gelu { approximate: true }),
            absorbed,
        })
    }

    fn clipped_relu(&self, w: usize) -> Option<Fusion> {
        let [cond, low, x] = self.node(w).input.as_slice() else {
            return None;
        };
        let x = x.as_str();
        let less = self.made_by(cond, "Less")?;
        let (lx, t) = self.inputs(less)?;
        let threshold = self.scalar(t)?;
        let mul = self.made_by(low, "Mul")?;
        let (a, b) = self.inputs(mul)?;
        let (shifted, slope) = match (self.scalar(a), self.scalar(b)) {
            (None, Some(s)) => (a, s),
            (Some(s), None) => (b, s),
            _ => return None,
        };
        let sub = self.made_by(shifted, "Sub")?;
        let (sx, st) = self.inputs(sub)?;
        if lx != x || sx != x || self.scalar(st) != Some(threshold) {
            return None;
        }
        self.only_reader(cond, "Where")?;
        self.only_reader(low, "Where")?;
        self.only_reader(shifted, "Mul")?;
        let mut absorbed = vec![less, sub, mul];
        let mut last = w;
        let mut max_value = None;
        // `Min(., max)` when graft named the Where after it.
        if let Some(min) = self.only_reader(self.out(w), "Min")
            && self.node(w).name == format!("{}/relu", self.node(min).name)
            && let Some(m) = self.with_scalar_any(min, self.out(w))
        {
            absorbed.push(w);
            last = min;
            max_value = Some(m);
        }
        Some(Fusion {
            last,
            input: x.to_string(),
            op: Op::Activation(Activation::relu_layer(max_value, slope, threshold)),
            absorbed,
        })
    }

    /// A small float constant (initializer or `Constant` node): its dims and values.
    fn floats(&self, v: &str) -> Option<Floats> {
        let t = if let Some(&i) = self.initializers.get(v) {
            &self.g.initializer[i]
        } else {
            let n = self.node(*self.producer.get(v)?);
            if n.op_type != "Constant" {
                return None;
            }
            Attrs::new(n).tensor("value")?
        };
        if t.dims.iter().product::<i64>() > MAX_PATTERN_CONST {
            return None;
        }
        let c = tensor::decode(t, self.dir).ok()?;
        let tensor::Data::F32(values) = c.data else {
            return None;
        };
        Some((c.dims, values))
    }

    /// `<name>/<role>` `first` on `x` and a constant, read only by `last` (`<name>`) with a
    /// constant: `(x, first's constant, last's constant)`.
    fn named_pair(&self, last: usize, first_op: &str, role: &str) -> Option<NamedPair<'a>> {
        let (a, b) = self.inputs(last)?;
        let first = self.made_by(a, first_op)?;
        if self.node(first).name != format!("{}/{role}", self.node(last).name) {
            return None;
        }
        self.only_reader(a, &self.node(last).op_type)?;
        let (x, c1) = self.inputs(first)?;
        if self.initializers.contains_key(x) || self.made_by(x, "Constant").is_some() {
            return None;
        }
        Some((x, self.floats(c1)?, self.floats(b)?))
    }

    /// graft's `Rescaling` and `Normalization`, ending at node `last`.
    fn preprocessing(&self, last: usize) -> Option<Fusion> {
        let n = self.node(last);
        let (first_op, role, invert) = match n.op_type.as_str() {
            "Add" => ("Mul", "scaled", true),
            "Div" => ("Sub", "centred", false),
            _ => return None,
        };
        let (x, c1, c2) = self.named_pair(last, first_op, role)?;
        let first = self.producer[self.node(last).input[0].as_str()];
        let fusion = |op| {
            Some(Fusion {
                last,
                input: x.to_string(),
                op,
                absorbed: vec![first],
            })
        };
        let vector = |c: &Floats| c.0.len() <= 1;
        // Rescaling: scalars or vectors.
        if invert && vector(&c1) && vector(&c2) {
            return fusion(Op::Rescaling(RescalingConfig {
                scale: c1.1,
                offset: c2.1,
            }));
        }
        // Normalization: both of one shape, scalars or one axis of its own after the batch.
        let ((mean, std), dims) = if invert {
            ((c2.1, c1.1), c1.0.clone())
        } else {
            ((c1.1, c2.1), c1.0.clone())
        };
        if c1.0 != c2.0 {
            return None;
        }
        let axes: Vec<i64> = dims
            .iter()
            .enumerate()
            .filter(|&(_, &d)| d != 1)
            .map(|(i, _)| i as i64)
            .collect();
        if axes.len() > 1 || axes.first() == Some(&0) || (axes.is_empty() && mean.len() != 1) {
            return None;
        }
        if std.iter().any(|&s| !(s.is_finite() && s > 0.0)) {
            return None;
        }
        let variance: Vec<f32> = std.iter().map(|s| s * s).collect();
        if variance
            .iter()
            .zip(&std)
            .any(|(v, s)| v.sqrt().max(1e-7) != *s)
        {
            return None;
        }
        fusion(Op::Normalization(NormalizationConfig {
            axes,
            invert,
            mean: Some(mean),
            variance: Some(variance),
        }))
    }

    /// The scalar operand of a binary node whose other operand is `v`.
    fn with_scalar_any(&self, i: usize, v: &str) -> Option<f32> {
        self.scalar(self.other(i, v)?)
    }
}

/// The patterns of `g`, none overlapping (`graft_file`: the file is graft's own, whose layer
/// spellings are looked for too).
pub(crate) fn find(g: &GraphProto, dir: &Path, graft_file: bool) -> Vec<Fusion> {
    let view = View::new(g, dir);
    let mut taken: HashSet<usize> = HashSet::new();
    let mut out = Vec::new();
    for (i, n) in g.node.iter().enumerate() {
        if !super::is_default_domain(&n.domain) {
            continue;
        }
        let f = match n.op_type.as_str() {
            "Erf" => view.gelu_erf(i),
            "Tanh" => view.gelu_tanh(i),
            "Where" => view.clipped_relu(i),
            "Add" | "Div" if graft_file => view.preprocessing(i),
            _ => None,
        };
        let Some(f) = f else { continue };
        if f.absorbed
            .iter()
            .chain([&f.last])
            .any(|j| taken.contains(j))
        {
            continue;
        }
        taken.extend(f.absorbed.iter().copied());
        taken.insert(f.last);
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use tract_onnx::pb::tensor_proto::DataType;
    use tract_onnx::pb::{TensorProto, ValueInfoProto};

    use super::*;

    fn node(op: &str, name: &str, inputs: &[&str]) -> NodeProto {
        NodeProto {
            name: name.into(),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![name.into()],
            ..Default::default()
        }
    }

    fn scalar(name: &str, v: f32) -> TensorProto {
        TensorProto {
            name: name.into(),
            data_type: DataType::Float as i32,
            float_data: vec![v],
            ..Default::default()
        }
    }

    /// graft's GELU: x / sqrt2 -> Erf -> + 1 -> * x -> * 0.5, reading graph input `x`.
    fn gelu_graph() -> GraphProto {
        GraphProto {
            node: vec![
                node("Div", "g/scaled", &["x", "sqrt2"]),
                node("Erf", "g/erf", &["g/scaled"]),
                node("Add", "g/plus_one", &["g/erf", "one"]),
                node("Mul", "g/times_x", &["x", "g/plus_one"]),
                node("Mul", "g", &["g/times_x", "half"]),
            ],
            initializer: vec![
                scalar("sqrt2", SQRT_2),
                scalar("one", 1.0),
                scalar("half", 0.5),
            ],
            output: vec![ValueInfoProto {
                name: "g".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn gelu_through_erf_is_one_activation() {
        let f = find(&gelu_graph(), Path::new(""), false);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].last, 4);
        assert_eq!(f[0].input, "x");
        assert_eq!(
            f[0].op,
            Op::Activation(Activation::Gelu { approximate: false })
        );
        let mut absorbed = f[0].absorbed.clone();
        absorbed.sort_unstable();
        assert_eq!(absorbed, vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_pattern_whose_inner_value_is_read_elsewhere_stays_apart() {
        let mut g = gelu_graph();
        g.output.push(ValueInfoProto {
            name: "g/erf".into(),
            ..Default::default()
        });
        assert!(find(&g, Path::new(""), false).is_empty());
        // Another constant than sqrt(2) is another function.
        let mut g = gelu_graph();
        g.initializer[0] = scalar("sqrt2", 1.5);
        assert!(find(&g, Path::new(""), false).is_empty());
    }
}
