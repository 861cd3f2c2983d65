//! `graft demo`: the README's first command. Works offline from a model embedded in the binary.
//!
//! The model is `models/demo_backbone.h5`, a small CNN pretrained by real Keras on synthetic
//! shapes (`scripts/models/pretrain_demo_backbone.py`), with eight sample images and the outputs
//! Keras computed on them. The demo imports it, runs it, and checks graft's numbers against
//! Keras'.

use std::path::PathBuf;

use anyhow::{Context, bail};
use graft::{SummaryOptions, Tensor};

static MODEL: &[u8] = include_bytes!("../../../../models/demo_backbone.h5");
static SAMPLE_X: &[u8] = include_bytes!("../../../../models/demo_backbone.sample_x.npy");
static SAMPLE_Y: &[u8] = include_bytes!("../../../../models/demo_backbone.sample_y.npy");

const CLASSES: [&str; 4] = ["circle", "square", "triangle", "cross"];

#[derive(clap::Args)]
pub struct Args {
    /// Folder for the demo's files.
    #[arg(long, default_value = "graft-demo")]
    pub out: PathBuf,
}

fn write(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    graft::fs::write_atomic(path, |w| std::io::Write::write_all(w, bytes))?;
    Ok(())
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let say = |s: String| {
        if !quiet {
            println!("{s}");
        }
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let model_path = args.out.join("demo_backbone.h5");
    let x_path = args.out.join("sample_images.npy");
    let keras_path = args.out.join("keras_outputs.npy");
    let graft_path = args.out.join("graft_outputs.npy");
    write(&model_path, MODEL)?;
    write(&x_path, SAMPLE_X)?;
    write(&keras_path, SAMPLE_Y)?;

    say(format!(
        "1. Importing {} (written by Keras 3)",
        model_path.display()
    ));
    let graph = graft::load_graph(&model_path)?;
    if !quiet {
        print!("{}", graph.summary(&SummaryOptions::default())?);
    }

    say("2. Running it with burn (Flex CPU backend) on 8 sample images".into());
    let model = graft::Model::new(graph, &graft::default_device())?;
    let x = graft::npy::read(&x_path)?;
    let keras = graft::npy::read(&keras_path)?;
    let t = std::time::Instant::now();
    let outputs = model.predict(std::slice::from_ref(&x))?;
    let elapsed = t.elapsed();
    let ours: &Tensor = &outputs[0];
    graft::npy::write(&graft_path, ours)?;

    say("3. Comparing with the outputs Keras computed".into());
    let scale = keras.data().iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = ours
        .data()
        .iter()
        .zip(keras.data())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    let classes = keras.shape()[1];
    let argmax = |t: &Tensor, row: usize| {
        let r = &t.data()[row * classes..(row + 1) * classes];
        (0..classes)
            .max_by(|&a, &b| r[a].total_cmp(&r[b]))
            .unwrap_or(0)
    };
    let mut agree = 0;
    for row in 0..keras.shape()[0] {
        let (g, k) = (argmax(ours, row), argmax(&keras, row));
        agree += usize::from(g == k);
        say(format!(
            "   image {row}: graft says {:<8} ({:.4}), Keras says {:<8} ({:.4})",
            CLASSES[g],
            ours.data()[row * classes + g],
            CLASSES[k],
            keras.data()[row * classes + k]
        ));
    }
    let rel = if scale > 0.0 { worst / scale } else { worst };
    say(format!(
        "   max |graft - keras| = {worst:.2e} ({rel:.2e} of the largest output); {agree}/{} top-1 agree; inference took {:.1} ms",
        keras.shape()[0],
        elapsed.as_secs_f64() * 1e3
    ));
    if rel > 1e-4 || agree != keras.shape()[0] {
        bail!("graft's outputs differ from Keras' (relative error {rel:.2e})");
    }
    say(format!(
        "Done. Files in {}: demo_backbone.h5 (the model), sample_images.npy, keras_outputs.npy, graft_outputs.npy.\n\
         Try: graft summary {0}/demo_backbone.h5   or   graft run {0}/demo_backbone.h5 -i {0}/sample_images.npy -o y.npy",
        args.out.display()
    ));
    Ok(())
}
