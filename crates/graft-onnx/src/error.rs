//! Errors of the ONNX reader and writer: every message starts with the file, then names the
//! node (with its op type and the model's opset) or the layer at fault.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// An ONNX file graft could not read or write.
#[derive(Debug, Error)]
#[error("{}: {reason}", path.display())]
pub struct OnnxError {
    /// The file at fault.
    pub path: PathBuf,
    /// What went wrong in it (boxed: errors stay small in `Result`s).
    pub reason: Box<Reason>,
}

impl OnnxError {
    pub(crate) fn new(path: &Path, reason: Reason) -> Self {
        Self {
            path: path.to_path_buf(),
            reason: Box::new(reason),
        }
    }
}

/// One node of an ONNX graph, as error messages name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeId {
    /// The node's name (or the name graft gave a nameless node: `<op_type>_<n>`).
    pub name: String,
    pub op_type: String,
    /// The node's domain when it is not the default ONNX one.
    pub domain: String,
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.domain.is_empty() || self.domain == "ai.onnx" {
            write!(f, "'{}' ({})", self.name, self.op_type)
        } else {
            write!(f, "'{}' ({}::{})", self.name, self.domain, self.op_type)
        }
    }
}

/// A node graft cannot map, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeProblem {
    pub node: NodeId,
    pub message: String,
}

fn list(problems: &[NodeProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("node {}: {}", p.node, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What went wrong, without the file name.
#[derive(Debug, Error)]
pub enum Reason {
    #[error("{0}")]
    Io(String),

    #[error("not an ONNX model: {0}")]
    Decode(String),

    #[error("{0}")]
    Model(String),

    /// Every node whose op graft does not know, listed at once.
    #[error(
        "{} node{} use{} ops graft does not support (opset {opset}): {}",
        nodes.len(),
        if nodes.len() == 1 { "" } else { "s" },
        if nodes.len() == 1 { "s" } else { "" },
        nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
    )]
    Unsupported { opset: i64, nodes: Vec<NodeId> },

    /// Nodes whose op graft knows but whose use here it cannot express, listed at once.
    #[error("opset {opset}: {}", list(problems))]
    Nodes {
        opset: i64,
        problems: Vec<NodeProblem>,
    },

    #[error("initializer '{name}': {message}")]
    Tensor { name: String, message: String },

    #[error("input '{name}': {message}")]
    Input { name: String, message: String },

    #[error("{0}")]
    Ir(#[from] graft_ir::IrError),

    #[error("already exists (use --force / overwrite to replace it)")]
    Exists,

    #[error("layer '{layer}' ({type_name}) cannot be written to ONNX: {message}")]
    NotExpressible {
        layer: String,
        type_name: String,
        message: String,
    },

    #[error("tract: {0}")]
    Runtime(String),
}
