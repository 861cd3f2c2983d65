//! `graft run MODEL --input x.npy --output y.npy`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

#[derive(clap::Args)]
pub struct Args {
    /// The model file (.h5, .keras or .onnx).
    pub model: PathBuf,

    /// An input array (.npy) in the model's own layout (NHWC for Keras image models); repeat
    /// once per model input, in order.
    #[arg(long = "input", short = 'i', required = true)]
    pub inputs: Vec<PathBuf>,

    /// Where to write the output (.npy). A model with several outputs writes y_0.npy,
    /// y_1.npy, ... next to it.
    #[arg(long, short = 'o')]
    pub output: PathBuf,

    /// Print how long reading, building and running took (to stderr).
    #[arg(long)]
    pub timings: bool,
}

/// `y.npy` -> `y_3.npy`.
fn numbered(path: &Path, index: usize) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "npy".into());
    path.with_file_name(format!("{stem}_{index}.{ext}"))
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let graph = graft::load_graph(&args.model)?;
    let t_read = t0.elapsed();
    let device = graft::default_device();
    let model = graft::Model::new(graph, &device)?;
    let t_build = t0.elapsed() - t_read;
    let inputs = args
        .inputs
        .iter()
        .map(graft::npy::read)
        .collect::<Result<Vec<_>, _>>()?;
    let t1 = Instant::now();
    let outputs = model
        .predict(&inputs)
        .with_context(|| format!("running {}", args.model.display()))?;
    let t_run = t1.elapsed();
    let paths: Vec<PathBuf> = if outputs.len() == 1 {
        vec![args.output.clone()]
    } else {
        (0..outputs.len())
            .map(|i| numbered(&args.output, i))
            .collect()
    };
    for (path, tensor) in paths.iter().zip(&outputs) {
        graft::npy::write(path, tensor)?;
        if !quiet {
            eprintln!("wrote {} {:?}", path.display(), tensor.shape());
        }
    }
    if args.timings {
        eprintln!(
            "timings: read {:.3}s, build {:.3}s, run {:.3}s",
            t_read.as_secs_f64(),
            t_build.as_secs_f64(),
            t_run.as_secs_f64()
        );
    }
    Ok(())
}
