//! `graft predict MODEL IMAGE|DIR...` (top-k classes per image) and `graft evaluate MODEL DIR`
//! (the validation report on a class-folder tree). Images are read as Keras' `load_img` reads
//! them (RGB, resized to the model's input with nearest-neighbour), then `--preprocess`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use graft::Tensor;
use graft::applications::{Preprocessing, preprocess_pixels};
use graft::data::{ColorMode, DecodeOptions, Interpolation, WHITE_LIST_FORMATS, load_img};
use serde_json::json;

use super::args::parse_size;
use super::finetune::image_input;
use super::report::{Confusion, predicted};
use super::report_html;

/// Images per forward pass.
const BATCH: usize = 16;

#[derive(clap::Args)]
pub struct PredictArgs {
    /// The model (.h5, .keras or .onnx).
    pub model: PathBuf,

    /// Images, or folders searched recursively for images.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,

    /// How many classes to list per image.
    #[arg(long, default_value_t = 1)]
    pub top: usize,

    /// Class names, one per line in class-index order (default: class indices).
    #[arg(long)]
    pub labels: Option<PathBuf>,

    /// Input preprocessing: caffe, tf, torch or none (as in training).
    #[arg(long, default_value = "none")]
    pub preprocess: Preprocessing,

    /// Resize images to "HEIGHT,WIDTH" (default: the model's input size).
    #[arg(long, value_parser = parse_size)]
    pub image_size: Option<(usize, usize)>,

    /// One JSON object per image instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct EvaluateArgs {
    /// The model (.h5, .keras or .onnx).
    pub model: PathBuf,

    /// Images in one subfolder per class, in the classes' index order (sorted names, as Keras).
    pub directory: PathBuf,

    /// Input preprocessing: caffe, tf, torch or none (as in training).
    #[arg(long, default_value = "none")]
    pub preprocess: Preprocessing,

    /// Resize images to "HEIGHT,WIDTH" (default: the model's input size).
    #[arg(long, value_parser = parse_size)]
    pub image_size: Option<(usize, usize)>,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,

    /// Also write an HTML report in this folder (index.html: accuracy, per-class table,
    /// confusion matrix, misclassified images), with the matrix as SVG and PNG.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// Replace an existing report.
    #[arg(long)]
    pub force: bool,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| WHITE_LIST_FORMATS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Image files under `path` (itself if a file), sorted.
pub fn collect(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("{}: cannot read", path.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect(&entry, out)?;
        } else if is_image(&entry) {
            out.push(entry);
        }
    }
    Ok(())
}

/// A model ready for images: its input size and layout.
pub struct ImageModel {
    model: graft::Model,
    size: (usize, usize),
    channels_first: bool,
    preprocess: Preprocessing,
}

impl ImageModel {
    pub fn load(
        path: &Path,
        size: Option<(usize, usize)>,
        preprocess: Preprocessing,
    ) -> anyhow::Result<Self> {
        let graph = graft::load_graph(path)?;
        let input = image_input(&graph).with_context(|| {
            format!(
                "{}: not an image model (one input of rank 4 expected)",
                path.display()
            )
        })?;
        let channels_first = input.channels_first;
        let size = match size {
            Some(s) => s,
            None => input.size.with_context(|| {
                format!(
                    "{}: the input size is not fixed; give --image-size HEIGHT,WIDTH",
                    path.display()
                )
            })?,
        };
        let model = graft::Model::new(graph, &graft::default_device())?;
        Ok(Self {
            model,
            size,
            channels_first,
            preprocess,
        })
    }

    /// The model's input for `images`, read and preprocessed as in training.
    pub fn input(&self, images: &[PathBuf]) -> anyhow::Result<Tensor> {
        let (h, w) = self.size;
        let mut pixels = Vec::with_capacity(images.len() * h * w * 3);
        for path in images {
            let img = load_img(
                path,
                ColorMode::Rgb,
                Some((h, w)),
                Interpolation::Nearest,
                false,
                &DecodeOptions::default(),
            )?;
            let mut x = img.to_f32();
            preprocess_pixels(&mut x, self.preprocess);
            pixels.extend(x);
        }
        let x = Tensor::new(vec![images.len(), h, w, 3], pixels)?;
        Ok(if self.channels_first {
            x.permuted(&[0, 3, 1, 2])?
        } else {
            x
        })
    }

    /// Scores `[n, k]` for the images, in order.
    pub fn scores(&self, images: &[PathBuf]) -> anyhow::Result<(Vec<f32>, usize)> {
        let mut all = vec![];
        for chunk in images.chunks(BATCH) {
            let y = self.model.predict(&[self.input(chunk)?])?;
            all.extend_from_slice(y[0].data());
        }
        let k = all.len() / images.len().max(1);
        Ok((all, k))
    }
}

pub fn predict(args: PredictArgs) -> anyhow::Result<()> {
    let mut images = vec![];
    for p in &args.images {
        if !p.exists() {
            bail!("{}: no such file or folder", p.display());
        }
        collect(p, &mut images)?;
    }
    if images.is_empty() {
        bail!(
            "no images found (formats: {})",
            WHITE_LIST_FORMATS.join(", ")
        );
    }
    let labels: Option<Vec<String>> = match &args.labels {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read the labels", path.display()))?
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect(),
        ),
        None => None,
    };
    let model = ImageModel::load(&args.model, args.image_size, args.preprocess)?;
    let (scores, k) = model.scores(&images)?;
    let name = |c: usize| {
        labels
            .as_ref()
            .and_then(|l| l.get(c).cloned())
            .unwrap_or_else(|| c.to_string())
    };
    for (i, path) in images.iter().enumerate() {
        let row = &scores[i * k..(i + 1) * k];
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        if k == 1 {
            order = vec![predicted(row)];
        }
        let top: Vec<(usize, f32)> = order
            .iter()
            .take(args.top.max(1))
            .map(|&c| (c, row[c.min(k - 1)]))
            .collect();
        if args.json {
            let entries: Vec<_> = top
                .iter()
                .map(|&(c, s)| json!({"class": c, "label": name(c), "score": s}))
                .collect();
            println!("{}", json!({"image": path, "top": entries}));
        } else {
            let text: Vec<String> = top
                .iter()
                .map(|&(c, s)| format!("{} ({s:.4})", name(c)))
                .collect();
            println!("{}\t{}", path.display(), text.join(", "));
        }
    }
    Ok(())
}

pub fn evaluate(args: EvaluateArgs) -> anyhow::Result<()> {
    if !args.directory.is_dir() {
        bail!("{}: no such folder", args.directory.display());
    }
    if let Some(dir) = &args.report {
        report_html::check_folder(dir, args.force)?;
    }
    let mut classes: Vec<String> = std::fs::read_dir(&args.directory)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    classes.sort();
    if classes.is_empty() {
        bail!("{}: no class folders", args.directory.display());
    }
    let (mut images, mut truth) = (vec![], vec![]);
    for (c, class) in classes.iter().enumerate() {
        let before = images.len();
        collect(&args.directory.join(class), &mut images)?;
        truth.extend(std::iter::repeat_n(c, images.len() - before));
    }
    if images.is_empty() {
        bail!(
            "{}: no images in the class folders",
            args.directory.display()
        );
    }
    let model = ImageModel::load(&args.model, args.image_size, args.preprocess)?;
    let (scores, k) = model.scores(&images)?;
    if k != classes.len() && !(k == 1 && classes.len() == 2) {
        bail!(
            "{}: the model has {k} outputs but {} has {} class folders",
            args.model.display(),
            args.directory.display(),
            classes.len()
        );
    }
    let confusion = Confusion::new(classes, &truth, &scores);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&confusion.to_json())?);
    } else {
        print!("{}", confusion.render());
    }
    if let Some(dir) = &args.report {
        let graph = graft::load_graph(&args.model)?;
        let page = report_html::write(
            dir,
            &report_html::Report {
                title: format!("graft evaluate: {}", args.model.display()),
                facts: vec![
                    ("model".into(), args.model.display().to_string()),
                    ("data".into(), args.directory.display().to_string()),
                    ("preprocessing".into(), args.preprocess.to_string()),
                ],
                history: None,
                misses: report_html::misclassified_of(&confusion, &truth, &scores, &images),
                confusion: Some(&confusion),
                summary: graph.summary(&Default::default())?,
            },
        )?;
        eprintln!("wrote the report {}", page.display());
    }
    Ok(())
}
