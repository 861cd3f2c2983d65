//! Options of the layer-graph plot, named and defaulted as `keras.utils.plot_model`'s.

use std::fmt;
use std::str::FromStr;

/// Direction of the layer graph (Keras' and Graphviz' `rankdir`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RankDir {
    /// Top to bottom: inputs at the top.
    #[default]
    TB,
    /// Left to right: inputs on the left.
    LR,
}

impl FromStr for RankDir {
    type Err = String;

    /// `"TB"` or `"LR"`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "TB" => Ok(RankDir::TB),
            "LR" => Ok(RankDir::LR),
            _ => Err(format!("unknown rankdir '{s}': expected 'TB' or 'LR'")),
        }
    }
}

impl fmt::Display for RankDir {
    /// `TB` or `LR`, as Graphviz spells them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RankDir::TB => "TB",
            RankDir::LR => "LR",
        })
    }
}

/// What the layer graph shows; the defaults are those of Keras 3's `keras.utils.plot_model`.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelPlotOptions {
    /// Show each layer's input and output shapes (default false). When shape inference fails
    /// the graph is drawn without shapes.
    pub show_shapes: bool,
    /// Label boxes `name (ClassName)` rather than just `ClassName` (default false, as in
    /// Keras 3; tf.keras 2 defaulted to true).
    pub show_layer_names: bool,
    /// Direction of the graph (default top to bottom).
    pub rankdir: RankDir,
    /// Draw the layers of nested models inline rather than one box per nested model
    /// (default false).
    pub expand_nested: bool,
    /// Show the activation of layers that have one (default false).
    pub show_layer_activations: bool,
    /// Show whether each layer is trainable (default false).
    pub show_trainable: bool,
    /// Resolution of PNG output: pixels = SVG size × `dpi / 96` (default 200, as in Keras 3).
    pub dpi: f32,
}

impl Default for ModelPlotOptions {
    fn default() -> Self {
        Self {
            show_shapes: false,
            show_layer_names: false,
            rankdir: RankDir::TB,
            expand_nested: false,
            show_layer_activations: false,
            show_trainable: false,
            dpi: 200.0,
        }
    }
}
