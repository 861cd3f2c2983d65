//! `graft demo`: the README's first command. Works offline from a model embedded in the binary.
//!
//! The model is `models/demo_backbone.h5`, a small CNN pretrained by real Keras on synthetic
//! shapes (`scripts/models/pretrain_demo_backbone.py`: circles, squares, triangles, crosses),
//! with eight sample images and the outputs Keras computed on them. The demo
//! 1. imports it and checks graft's numbers against Keras',
//! 2. generates a new synthetic task (rings, diamonds, stripes, dots),
//! 3. fine-tunes the backbone on it (new head, frozen base, augmentation, then the top block
//!    unfrozen at a lower learning rate),
//! 4. exports ONNX and `.keras`, and checks the ONNX file in tract, an independent runtime.

use std::path::PathBuf;

use anyhow::{Context, bail};
use graft::applications::Preprocessing;
use graft::data::{Shift, Zoom};
use graft::{SummaryOptions, Tensor};

use super::args::Augmentation;
use super::finetune;
use super::predict::{ImageModel, collect};

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
    fine_tune_and_export(&args.out, quiet)
}

/// Steps 4 to 6: a new task, fine-tuning, export, and the ONNX file checked in tract.
fn fine_tune_and_export(out: &std::path::Path, quiet: bool) -> anyhow::Result<()> {
    let say = |s: String| {
        if !quiet {
            println!("{s}");
        }
    };
    let data = out.join("shapes");
    let shapes = graft::data::synthetic::NEW_SHAPES;
    say(format!(
        "4. Generating a new task in {}: {} (shapes the backbone never saw), 60 training and 20 validation images each",
        data.display(),
        shapes.join(", ")
    ));
    let _ = std::fs::remove_dir_all(&data);
    graft::data::synthetic::write_folder(&data.join("train"), &shapes, 60, 32, 2026)?;
    graft::data::synthetic::write_folder(&data.join("val"), &shapes, 20, 32, 1126)?;

    let onnx = out.join("finetuned.onnx");
    let keras = out.join("finetuned.keras");
    say("5. Fine-tuning: cut at 'features', new softmax head, base frozen, augmentation on; then block3 unfrozen;\n   early stopping on val_loss keeps the best weights of each phase".into());
    finetune::run(
        finetune::Args {
            base: out.join("demo_backbone.h5").display().to_string(),
            weights: None,
            alpha: None,
            data: data.join("train"),
            val_data: Some(data.join("val")),
            validation_split: None,
            out: onnx.clone(),
            export: vec![keras.clone()],
            force: true,
            cut_at: Some("features".into()),
            image_size: None,
            preprocess: Some(Preprocessing::Identity),
            pooling: None,
            dropout: 0.2,
            dense: vec![],
            epochs: 15,
            batch_size: 32,
            optimizer: "adam".into(),
            lr: 1e-2,
            fine_tune_top: 1,
            fine_tune_epochs: 5,
            fine_tune_lr: 2e-4,
            augmentation: Augmentation {
                rotation_range: 15.0,
                width_shift_range: Shift::Fraction(0.1),
                height_shift_range: Shift::Fraction(0.1),
                zoom_range: Zoom::from(0.1),
                horizontal_flip: true,
                ..Augmentation::default()
            },
            class_weight: None,
            early_stopping: Some(5),
            checkpoint: None,
            save_best_only: false,
            resume: false,
            seed: 7,
            history: Some(out.join("history.json")),
            report_json: Some(out.join("report.json")),
            labels_out: Some(out.join("labels.txt")),
            report: Some(out.join("report")),
        },
        quiet,
    )?;

    say(format!(
        "6. Checking {} in tract against graft on the validation images",
        onnx.display()
    ));
    let mut images = vec![];
    collect(&data.join("val"), &mut images)?;
    let graft_model = ImageModel::load(&keras, None, Preprocessing::Identity)?;
    let x = graft_model.input(&images)?;
    let (ours, k) = graft_model.scores(&images)?;
    let tract = graft::onnx::runtime::TractModel::load(&onnx, &[x.shape().to_vec()])?;
    let theirs = tract.run(std::slice::from_ref(&x))?.remove(0);
    let worst = ours
        .iter()
        .zip(theirs.data())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    let top = |s: &[f32], i: usize| super::report::predicted(&s[i * k..(i + 1) * k]);
    let agree = (0..images.len())
        .filter(|&i| top(&ours, i) == top(theirs.data(), i))
        .count();
    say(format!(
        "   tract vs graft: max |difference| {worst:.2e} over {} images x {k} classes; top-1 agrees on {agree}/{}",
        images.len(),
        images.len()
    ));
    if worst > 1e-4 || agree != images.len() {
        bail!(
            "the exported ONNX model computes different numbers in tract (max difference {worst:.2e})"
        );
    }
    say(format!(
        "Done. In {0}: finetuned.onnx and finetuned.keras (the fine-tuned model), report/index.html (curves,\n\
         confusion matrix, misclassified images), history.json, report.json, labels.txt, shapes/ (the generated\n\
         images), demo_backbone.h5 and the sample files.\n\
         Try: graft predict {0}/finetuned.onnx {0}/shapes/val/ring --top 2 --labels {0}/labels.txt   or   graft summary {0}/finetuned.keras",
        out.display()
    ));
    Ok(())
}
