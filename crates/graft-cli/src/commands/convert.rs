//! `graft convert IN OUT`: any pair of `.h5`, `.keras` and `.onnx` (format from the extension,
//! `--to` to override). `--verify` runs the source (burn executor) and the result (tract for
//! ONNX, burn for Keras files) on the same seeded input and fails when they differ by more than
//! `--tolerance`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use graft::ir::layout::{self, Boundary, LayoutOptions, MovedBoundaries};
use graft::ir::{DataFormat, Graph};
use graft::keras::{Dialect, KerasFormat};
use graft::{Shape, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// ONNX (opset 17).
    Onnx,
    /// Legacy Keras HDF5 (`model.save("x.h5")`).
    H5,
    /// Keras 3 archive.
    Keras,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// Batch, height, width, channels (Keras, TensorFlow).
    Nhwc,
    /// Batch, channels, height, width (ONNX, PyTorch).
    Nchw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KerasDialect {
    /// Keras 3 conventions (`batch_shape`, ...).
    #[value(name = "3", alias = "keras3")]
    Keras3,
    /// tf.keras 2 conventions (`batch_input_shape`, ...); legacy .h5 only.
    #[value(name = "2", alias = "tf-keras2")]
    TfKeras2,
}

#[derive(clap::Args)]
pub struct Args {
    /// The model to convert (.h5, .keras or .onnx).
    pub input: PathBuf,

    /// Where to write the result.
    pub output: PathBuf,

    /// The output format (default: from OUT's extension).
    #[arg(long, value_enum)]
    pub to: Option<Target>,

    /// The layout the written model's image inputs take (default: the source model's for ONNX,
    /// NHWC for Keras files).
    #[arg(long, value_enum)]
    pub layout: Option<Layout>,

    /// Which Keras generation a Keras file is written for: 3 (Keras 3) or 2 (tf.keras 2,
    /// legacy .h5 only).
    #[arg(long = "keras-dialect", value_enum, default_value = "3")]
    pub dialect: KerasDialect,

    /// Replace OUT when it exists.
    #[arg(long)]
    pub force: bool,

    /// Run the source and the result on the same seeded input and compare.
    #[arg(long)]
    pub verify: bool,

    /// Largest accepted `max |result - source| / max |source|` with --verify.
    #[arg(long, default_value_t = 1e-4)]
    pub tolerance: f32,

    /// Batch size of the --verify input.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,

    /// ONNX weights in an external data file next to the model (OUT.data): auto (past 1.9 GB),
    /// always or never.
    #[arg(long, value_enum, default_value = "auto")]
    pub external_data: External,

    /// Print how long reading and writing took (to stderr).
    #[arg(long)]
    pub timings: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum External {
    Auto,
    Always,
    Never,
}

fn target_of(args: &Args) -> anyhow::Result<Target> {
    if let Some(t) = args.to {
        return Ok(t);
    }
    // The extension table graft's savers use; convert writes whole models, so a `.weights.h5`
    // name still gets a full `.h5`.
    Ok(match graft::SaveFormat::from_path(&args.output) {
        Ok(graft::SaveFormat::Onnx) => Target::Onnx,
        Ok(graft::SaveFormat::KerasH5 | graft::SaveFormat::KerasWeights) => Target::H5,
        Ok(graft::SaveFormat::Keras) => Target::Keras,
        Err(_) => bail!(
            "{}: cannot tell the format from the extension; name it .onnx, .h5 or .keras, or \
             pass --to",
            args.output.display()
        ),
    })
}

fn format_of(l: Layout) -> DataFormat {
    match l {
        Layout::Nhwc => DataFormat::ChannelsLast,
        Layout::Nchw => DataFormat::ChannelsFirst,
    }
}

/// A progress bar on stderr for long writes, hidden when quiet or not on a terminal.
fn progress_bar(quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(0);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message("writing weights");
    Some(pb)
}

/// Keras files are channels-last; an ONNX-origin graph is re-expressed first.
/// The graph in Keras' channels-last layout, and which of its inputs and outputs now take the
/// other layout than the source's.
fn for_keras(graph: Graph, layout: Option<Layout>) -> anyhow::Result<(Graph, MovedBoundaries)> {
    // Nothing channels-first to convert: the inputs keep their declared shapes (a rank-3 MatMul
    // input of an ONNX model is no image to transpose).
    if !layout::uses_format(&graph, DataFormat::ChannelsFirst) {
        let unmoved = MovedBoundaries {
            inputs: vec![false; graph.inputs.len()],
            outputs: vec![false; graph.outputs.len()],
        };
        return Ok((graph, unmoved));
    }
    let inputs = match layout {
        Some(Layout::Nchw) => Boundary::Keep,
        _ => Boundary::Convert,
    };
    Ok(layout::convert_reporting(
        graph,
        DataFormat::ChannelsLast,
        &LayoutOptions {
            inputs,
            outputs: inputs,
        },
    )?)
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let target = target_of(&args)?;
    if args.output.exists() && !args.force {
        bail!(
            "{}: already exists (pass --force to replace it)",
            args.output.display()
        );
    }
    let t0 = Instant::now();
    let graph = graft::load_graph(&args.input)?;
    let t_read = t0.elapsed();
    let source_format = layout::data_format(&graph);
    // The source, for --verify, before the graph is consumed by the writer.
    let source = if args.verify {
        Some((
            graft::Model::from_graph(&graph, &graft::default_device())?,
            graph.input_shapes(),
        ))
    } else {
        None
    };
    let t1 = Instant::now();
    let moved = match target {
        Target::Onnx => {
            let pb = progress_bar(quiet);
            let options = graft::onnx::SaveOptions {
                layout: args.layout.map(format_of),
                overwrite: args.force,
                external_data: match args.external_data {
                    External::Auto => graft::onnx::ExternalData::Auto,
                    External::Always => graft::onnx::ExternalData::Always,
                    External::Never => graft::onnx::ExternalData::Never,
                },
            };
            let report =
                graft::onnx::save_model(graph, &args.output, &options, &mut |done, total| {
                    if let Some(pb) = &pb {
                        pb.set_length(total);
                        pb.set_position(done);
                    }
                })?;
            if let Some(pb) = pb {
                pb.finish_and_clear();
            }
            if !quiet {
                eprintln!(
                    "wrote {} ({} nodes, {:.1} MB of weights{})",
                    args.output.display(),
                    report.nodes,
                    report.weight_bytes as f64 / 1e6,
                    report
                        .external_data
                        .as_ref()
                        .map(|p| format!(" in {}", p.display()))
                        .unwrap_or_default()
                );
            }
            report.moved
        }
        Target::H5 | Target::Keras => {
            let (graph, moved) = for_keras(graph, args.layout)?;
            let options = graft::keras::SaveOptions {
                format: if target == Target::Keras {
                    KerasFormat::KerasV3
                } else {
                    KerasFormat::LegacyH5
                },
                dialect: match args.dialect {
                    KerasDialect::Keras3 => Dialect::Keras3,
                    KerasDialect::TfKeras2 => Dialect::TfKeras2,
                },
                overwrite: args.force,
            };
            let report = graft::keras::save_model(&graph, &args.output, &options)?;
            if !quiet {
                eprintln!("wrote {}", args.output.display());
                for note in &report.notes {
                    eprintln!("  {note}");
                }
            }
            moved
        }
    };
    let t_write = t1.elapsed();
    if args.timings {
        eprintln!(
            "timings: read {:.3}s, convert and write {:.3}s",
            t_read.as_secs_f64(),
            t_write.as_secs_f64()
        );
    }
    if let Some((model, shapes)) = source {
        let relayout = source_format.map(|format| Relayout { format, moved });
        verify(&args, target, model, &shapes, relayout.as_ref(), quiet)?;
    }
    Ok(())
}

/// A seeded input in [-1, 1) of `shape` with the batch set (xorshift; no dependency needed).
fn seeded(shape: &Shape, batch: usize, seed: u64) -> anyhow::Result<Tensor> {
    let dims: Vec<usize> = shape
        .dims()
        .iter()
        .enumerate()
        .map(|(i, d)| match (i, d) {
            (0, None) => Ok(batch),
            (_, Some(n)) => Ok(*n),
            _ => bail!("input shape {shape} has an unknown size besides the batch; --verify needs fixed sizes"),
        })
        .collect::<anyhow::Result<_>>()?;
    let n: usize = dims.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let data = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    Ok(Tensor::new(dims, data)?)
}

/// The move of a rank >= 3 tensor out of `from` to the other format (identity below rank 3).
fn relayout(t: &Tensor, from: DataFormat) -> anyhow::Result<Tensor> {
    let r = t.shape().len();
    if r < 3 {
        return Ok(t.clone());
    }
    let perm: Vec<usize> = match from {
        DataFormat::ChannelsLast => [0, r - 1].into_iter().chain(1..r - 1).collect(),
        DataFormat::ChannelsFirst => [0].into_iter().chain(2..r).chain([1]).collect(),
    };
    Ok(t.permuted(&perm)?)
}

/// How the written model's boundaries differ from the source's: the source layout, and which
/// inputs and outputs the written file declares in the other one (as the layout pass reported:
/// shapes alone cannot tell, since a 4x4x4 map or a rank-3 sequence looks the same both ways).
struct Relayout {
    format: DataFormat,
    moved: MovedBoundaries,
}

fn verify(
    args: &Args,
    target: Target,
    source: graft::Model,
    shapes: &[Shape],
    relayout_of: Option<&Relayout>,
    quiet: bool,
) -> anyhow::Result<()> {
    let moved_input = |i: usize| relayout_of.filter(|r| r.moved.inputs.get(i) == Some(&true));
    let moved_output = |i: usize| relayout_of.filter(|r| r.moved.outputs.get(i) == Some(&true));
    let inputs = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| seeded(s, args.batch, 42 + i as u64))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let expected = source
        .predict(&inputs)
        .context("running the source model")?;
    let fed: Vec<Tensor> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| match moved_input(i) {
            Some(r) => relayout(t, r.format),
            None => Ok(t.clone()),
        })
        .collect::<anyhow::Result<_>>()?;
    let (runtime, actual) = match target {
        Target::Onnx => ("tract", graft::onnx::runtime::run(&args.output, &fed)?),
        Target::H5 | Target::Keras => {
            let m = graft::load_model(&args.output, &graft::default_device())?;
            ("graft (reading the written file)", m.predict(&fed)?)
        }
    };
    if actual.len() != expected.len() {
        bail!(
            "the result has {} outputs, the source {}",
            actual.len(),
            expected.len()
        );
    }
    let mut worst_rel = 0f32;
    for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
        // Outputs in the other layout come back to the source's.
        let a = match moved_output(i) {
            Some(r) => relayout(a, other(r.format))?,
            None => a.clone(),
        };
        if a.shape() != e.shape() {
            bail!(
                "output {i}: shape {:?}, the source's {:?}",
                a.shape(),
                e.shape()
            );
        }
        let scale = e.data().iter().fold(0f32, |m, v| m.max(v.abs()));
        let worst = a
            .data()
            .iter()
            .zip(e.data())
            .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        let rel = if scale > 0.0 { worst / scale } else { worst };
        let rel = if rel.is_nan() { f32::INFINITY } else { rel };
        worst_rel = worst_rel.max(rel);
        if !quiet || rel > args.tolerance {
            println!(
                "verify output {i}: max |{runtime} - source| = {worst:.3e}, relative {rel:.3e} (tolerance {:.1e})",
                args.tolerance
            );
        }
    }
    if worst_rel > args.tolerance {
        bail!(
            "{}: the converted model differs from the source by {worst_rel:.3e} of the largest output (tolerance {:.1e})",
            args.output.display(),
            args.tolerance
        );
    }
    Ok(())
}

fn other(f: DataFormat) -> DataFormat {
    match f {
        DataFormat::ChannelsLast => DataFormat::ChannelsFirst,
        DataFormat::ChannelsFirst => DataFormat::ChannelsLast,
    }
}
