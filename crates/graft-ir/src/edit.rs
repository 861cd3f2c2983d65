//! Editing a graph for transfer learning: cutting it at a layer, and choosing which layers train.
//!
//! The freezing helpers follow Keras: `trainable = false` on a layer freezes its weights and runs
//! its BatchNormalization in inference mode; a nested model's flag covers every layer inside.

use std::collections::HashSet;

use crate::error::IrError;
use crate::graph::{Graph, TensorRef};

/// A layer named or numbered (its position in `graph.layers`, negative from the end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerRef {
    Name(String),
    Index(i64),
}

impl From<&str> for LayerRef {
    fn from(s: &str) -> Self {
        LayerRef::Name(s.to_string())
    }
}

impl From<String> for LayerRef {
    fn from(s: String) -> Self {
        LayerRef::Name(s)
    }
}

impl From<i64> for LayerRef {
    fn from(i: i64) -> Self {
        LayerRef::Index(i)
    }
}

impl Graph {
    /// Index of the layer `r` designates.
    pub fn resolve_layer(&self, r: &LayerRef) -> Result<usize, IrError> {
        match r {
            LayerRef::Name(name) => self.layer_index(name).ok_or_else(|| IrError::UnknownLayer {
                name: name.clone(),
                hint: self.suggest(name),
            }),
            LayerRef::Index(i) => {
                let n = self.layers.len() as i64;
                let j = if *i < 0 { n + i } else { *i };
                (0..n).contains(&j).then_some(j as usize).ok_or_else(|| {
                    IrError::Invalid(format!(
                        "layer index {i} is out of range for a model of {n} layers"
                    ))
                })
            }
        }
    }

    /// A hint for an unknown layer name: the closest names, or where to look.
    fn suggest(&self, name: &str) -> String {
        let lower = name.to_lowercase();
        let close: Vec<&str> = self
            .layers
            .iter()
            .map(|l| l.name.as_str())
            .filter(|l| {
                let l = l.to_lowercase();
                l.contains(&lower) || lower.contains(&l)
            })
            .take(5)
            .collect();
        if close.is_empty() {
            format!(
                " (the model has {} layers; `graft summary` lists them)",
                self.layers.len()
            )
        } else {
            format!("; did you mean {}?", close.join(", "))
        }
    }

    /// The model whose output is the first output of `layer` (Keras'
    /// `Model(base.input, base.get_layer(layer).output)`), without the layers it no longer needs.
    pub fn cut_at(&self, layer: impl Into<LayerRef>) -> Result<Graph, IrError> {
        let index = self.resolve_layer(&layer.into())?;
        let name = self.layers[index].name.clone();
        let mut g = self.clone();
        g.outputs = vec![TensorRef::new(name)];
        g.prune();
        Ok(g)
    }

    /// The model ending at `layer`'s output, Keras' `base.get_layer(layer).output` as the new
    /// top: the same as [`Graph::cut_at`], named for how Keras users say it.
    pub fn output_of(&self, layer: impl Into<LayerRef>) -> Result<Graph, IrError> {
        self.cut_at(layer)
    }

    /// Removes layers and inputs the outputs do not depend on.
    pub fn prune(&mut self) {
        let mut needed: HashSet<String> = HashSet::new();
        let mut stack: Vec<String> = self.outputs.iter().map(|r| r.layer.clone()).collect();
        while let Some(name) = stack.pop() {
            if !needed.insert(name.clone()) {
                continue;
            }
            if let Some(layer) = self.layer(&name) {
                for node in &layer.nodes {
                    stack.extend(node.inputs.iter().map(|r| r.layer.clone()));
                }
            }
        }
        self.layers.retain(|l| needed.contains(&l.name));
        self.inputs.retain(|r| needed.contains(&r.layer));
    }

    /// Sets `trainable` on every layer (nested models keep their inner flags; the outer one rules).
    pub fn set_all_trainable(&mut self, trainable: bool) {
        for layer in &mut self.layers {
            layer.trainable = trainable;
        }
    }

    /// Freezes every layer (Keras `base.trainable = False`).
    pub fn freeze_all(&mut self) {
        self.set_all_trainable(false);
    }

    /// Freezes every layer up to and including `layer`; the layers after it become trainable.
    pub fn freeze_until(&mut self, layer: impl Into<LayerRef>) -> Result<(), IrError> {
        let until = self.resolve_layer(&layer.into())?;
        for (i, l) in self.layers.iter_mut().enumerate() {
            l.trainable = i > until;
        }
        Ok(())
    }

    /// Sets `trainable` on the layers whose name satisfies `pred`; returns how many matched.
    pub fn set_trainable_where(
        &mut self,
        trainable: bool,
        mut pred: impl FnMut(&str) -> bool,
    ) -> usize {
        let mut n = 0;
        for l in &mut self.layers {
            if pred(&l.name) {
                l.trainable = trainable;
                n += 1;
            }
        }
        n
    }

    /// Freezes every layer whose name matches the regular expression `pattern` (searched, not
    /// anchored: `"^block[1-3]_"` or `"bn"`); returns how many. A pattern that matches nothing is
    /// an error, as it is almost always a typo.
    pub fn freeze_matching(&mut self, pattern: &str) -> Result<usize, IrError> {
        self.set_trainable_matching(false, pattern)
    }

    /// Unfreezes every layer whose name matches `pattern` (see [`Graph::freeze_matching`]).
    pub fn unfreeze_matching(&mut self, pattern: &str) -> Result<usize, IrError> {
        self.set_trainable_matching(true, pattern)
    }

    fn set_trainable_matching(&mut self, trainable: bool, pattern: &str) -> Result<usize, IrError> {
        let re = regex::Regex::new(pattern).map_err(|e| IrError::BadPattern {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        match self.set_trainable_where(trainable, |name| re.is_match(name)) {
            0 => Err(IrError::NoMatch(pattern.to_string())),
            n => Ok(n),
        }
    }

    /// Makes the last `n` layers that own weights trainable (input layers and weightless layers
    /// are skipped when counting, as "the top n blocks" means layers that learn).
    pub fn unfreeze_top(&mut self, n: usize) {
        let mut left = n;
        for layer in self.layers.iter_mut().rev() {
            if left == 0 {
                break;
            }
            let owns = layer.op.has_weights();
            if owns {
                layer.trainable = true;
                left -= 1;
            } else if !layer.is_input() {
                // Weightless layers between unfrozen ones follow them.
                layer.trainable = true;
            }
        }
    }

    /// A layer name not used yet: `base`, else `base_1`, `base_2`, ...
    pub fn unique_name(&self, base: &str) -> String {
        if self.layer(base).is_none() {
            return base.to_string();
        }
        (1..)
            .map(|i| format!("{base}_{i}"))
            .find(|n| self.layer(n).is_none())
            .expect("some suffix is free")
    }
}

/// Keras' naming rule for a new name among `taken` (layers, ONNX values, nodes): `base`, else
/// `base_1`, `base_2`, ...; the name returned is added to `taken`. Every pass that invents
/// names (layout converters, the ONNX and Keras writers) uses this one rule.
pub fn reserve_unique_name(taken: &mut std::collections::HashSet<String>, base: &str) -> String {
    let mut name = base.to_string();
    let mut i = 1;
    while taken.contains(&name) {
        name = format!("{base}_{i}");
        i += 1;
    }
    taken.insert(name.clone());
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Layer;
    use crate::op::{Activation, DType, DenseConfig, InputConfig, Op};
    use crate::shape::Shape;

    fn chain() -> Graph {
        let mut g = Graph::new("m");
        let mut x = g.push_input(
            "in",
            InputConfig {
                shape: Shape::batched(&[4]),
                dtype: DType::F32,
            },
        );
        for name in ["a", "b", "c"] {
            let dense = Op::Dense(DenseConfig {
                units: 4,
                use_bias: false,
                activation: Activation::Linear,
            });
            x = g.push(Layer::new(name, dense), vec![x]);
        }
        g.outputs = vec![x];
        g
    }

    #[test]
    fn freeze_matching_uses_a_regex_and_rejects_typos() {
        let mut g = chain();
        assert_eq!(g.freeze_matching("^[ab]$").unwrap(), 2);
        let flags: Vec<bool> = g.layers.iter().map(|l| l.trainable).collect();
        assert_eq!(flags, [true, false, false, true]);
        assert!(matches!(g.freeze_matching("^z"), Err(IrError::NoMatch(_))));
        assert!(matches!(
            g.freeze_matching("("),
            Err(IrError::BadPattern { .. })
        ));
        assert_eq!(g.unfreeze_matching("a").unwrap(), 1);
    }

    #[test]
    fn cut_prunes_later_layers() {
        let g = chain().cut_at("b").unwrap();
        assert_eq!(
            g.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["in", "a", "b"]
        );
        assert!(chain().cut_at("nope").is_err());
        assert_eq!(chain().cut_at(-2i64).unwrap().outputs[0].layer, "b");
    }

    #[test]
    fn freezing() {
        let mut g = chain();
        g.freeze_until("a").unwrap();
        let flags: Vec<bool> = g.layers.iter().map(|l| l.trainable).collect();
        assert_eq!(flags, [false, false, true, true]);
        assert_eq!(g.set_trainable_where(false, |n| n.starts_with('c')), 1);
        assert!(!g.layer("c").unwrap().trainable);
        assert_eq!(g.unique_name("a"), "a_1");
    }
}
