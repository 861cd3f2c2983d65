//! Errors of the IR: each names the layer (and weight) at fault.

use thiserror::Error;

/// What is wrong with a graph or a tensor.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum IrError {
    #[error("tensor of shape {shape:?} needs {} values, got {len}", shape.iter().product::<usize>())]
    TensorSize { shape: Vec<usize>, len: usize },

    #[error("tensor shape {shape:?} is too large to address")]
    TensorTooLarge { shape: Vec<usize> },

    #[error("{perm:?} is not a permutation of {rank} axes")]
    BadPermutation { perm: Vec<usize>, rank: usize },

    #[error("two layers are named '{0}'")]
    DuplicateLayer(String),

    #[error("layer '{layer}' takes input '{input}', which no layer produces")]
    DanglingInput { layer: String, input: String },

    #[error("graph {what} '{reference}' refers to no layer output")]
    DanglingGraphRef {
        what: &'static str,
        reference: String,
    },

    #[error("the graph has a cycle through layer '{0}'")]
    Cycle(String),

    #[error("layer '{layer}' ({type_name}): {message}")]
    Shape {
        layer: String,
        type_name: String,
        message: String,
    },

    #[error("layer '{layer}' ({type_name}) expects weights [{expected}], has [{found}]")]
    WeightNames {
        layer: String,
        type_name: String,
        expected: String,
        found: String,
    },

    #[error("layer '{layer}' weight '{weight}' has shape {found:?}, expected {expected:?}")]
    WeightShape {
        layer: String,
        weight: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },

    #[error("model takes {expected} inputs, got {found}")]
    InputCount { expected: usize, found: usize },

    #[error("input {index} ('{name}') expects shape {expected}, got {found}")]
    InputShape {
        index: usize,
        name: String,
        expected: String,
        found: String,
    },

    #[error("no layer named '{0}'")]
    NoSuchLayer(String),

    #[error("no layer named '{name}'{hint}")]
    UnknownLayer { name: String, hint: String },

    #[error("layer pattern '{pattern}' is not a valid regular expression: {reason}")]
    BadPattern { pattern: String, reason: String },

    #[error("no layer name matches '{0}'")]
    NoMatch(String),

    #[error("{0}")]
    Invalid(String),
}
