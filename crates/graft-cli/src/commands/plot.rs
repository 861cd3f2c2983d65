//! `graft plot MODEL -o model.svg|.png|.dot`: the layer graph, as `keras.utils.plot_model` draws
//! it (same option names and defaults), without Graphviz. `graft plot history.json -o
//! curves.png` draws the training curves of a `--history` file instead.

use std::path::PathBuf;

use anyhow::{Context, bail};
use graft::plot::{ModelPlotOptions, RankDir, plot_model, training_curves_svg, write_svg_or_png};

#[derive(clap::Args)]
pub struct Args {
    /// A model (.h5, .keras, .onnx), or a history JSON written by `graft finetune --history`.
    pub input: PathBuf,

    /// The picture to write: .svg, .png, or .dot (Graphviz source; models only).
    #[arg(long, short)]
    pub output: PathBuf,

    /// Show each layer's input and output shapes.
    #[arg(long)]
    pub show_shapes: bool,

    /// Show layer names next to their class names (plot_model's default is not to).
    #[arg(long)]
    pub show_layer_names: bool,

    /// Direction of the graph: TB (top to bottom) or LR (left to right).
    #[arg(long, default_value = "TB")]
    pub rankdir: RankDir,

    /// Draw the layers of nested models instead of one box per nested model.
    #[arg(long)]
    pub expand_nested: bool,

    /// Show the activation of layers that have one.
    #[arg(long)]
    pub show_layer_activations: bool,

    /// Show whether each layer is trainable.
    #[arg(long)]
    pub show_trainable: bool,

    /// Resolution of PNG output, in dots per inch (the SVG is drawn at 96).
    #[arg(long, default_value_t = 200.0)]
    pub dpi: f32,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    if !(args.dpi > 0.0 && args.dpi <= 2400.0) {
        bail!("--dpi must be in (0, 2400], got {}", args.dpi);
    }
    let is_json = args
        .input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        let history = graft::train::History::load(&args.input)?;
        let title = args
            .input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let svg = training_curves_svg(&history.history, &title)
            .with_context(|| format!("{}", args.input.display()))?;
        write_svg_or_png(&svg, &args.output, args.dpi / 96.0)?;
    } else {
        let graph = graft::load_graph(&args.input)?;
        let options = ModelPlotOptions {
            show_shapes: args.show_shapes,
            show_layer_names: args.show_layer_names,
            rankdir: args.rankdir,
            expand_nested: args.expand_nested,
            show_layer_activations: args.show_layer_activations,
            show_trainable: args.show_trainable,
            dpi: args.dpi,
        };
        plot_model(&graph, &args.output, &options)
            .with_context(|| format!("plotting {}", args.input.display()))?;
    }
    if !quiet {
        eprintln!("wrote {}", args.output.display());
    }
    Ok(())
}
