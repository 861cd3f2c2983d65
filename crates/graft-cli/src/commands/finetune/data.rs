//! The image flows `graft finetune` trains and validates on.

use anyhow::{Context, bail};
use graft::applications::{Preprocessing, preprocess_pixels};
use graft::data::{ClassMode, Flow, FlowFromDirectoryOptions, ImageDataGenerator, Subset};

use super::Args;

pub struct Data {
    pub train: Flow,
    pub val: Option<Flow>,
    pub classes: Vec<String>,
}

pub fn load_data(
    args: &Args,
    size: (usize, usize),
    preprocess: Preprocessing,
) -> anyhow::Result<Data> {
    for dir in std::iter::once(&args.data).chain(&args.val_data) {
        if !dir.is_dir() {
            bail!("{}: no such folder", dir.display());
        }
    }
    let preprocessed = |g: ImageDataGenerator| match preprocess {
        Preprocessing::Identity => g,
        p => g.preprocessing_function(move |x, _| preprocess_pixels(x, p)),
    };
    let base = || preprocessed(ImageDataGenerator::new());
    let split = args.validation_split.unwrap_or(0.0);
    let augment = preprocessed(args.augmentation.to_options().generator()).validation_split(split);
    let options = |shuffle: bool, subset: Option<Subset>| FlowFromDirectoryOptions {
        target_size: size,
        class_mode: ClassMode::Sparse,
        batch_size: args.batch_size.max(1),
        shuffle,
        seed: Some(args.seed),
        subset,
        ..Default::default()
    };
    let (train_subset, val_subset) = if split > 0.0 {
        (Some(Subset::Training), Some(Subset::Validation))
    } else {
        (None, None)
    };
    let train = augment
        .flow_from_directory(&args.data, options(true, train_subset))
        .with_context(|| format!("reading {}", args.data.display()))?;
    let mut classes: Vec<(String, usize)> = train.class_indices().into_iter().collect();
    classes.sort_by_key(|(_, i)| *i);
    let classes: Vec<String> = classes.into_iter().map(|(c, _)| c).collect();
    if classes.len() < 2 {
        bail!(
            "{}: found {} class folder(s); fine-tuning a classifier needs at least two",
            args.data.display(),
            classes.len()
        );
    }
    if train.samples() == 0 {
        bail!(
            "{}: no images found in the class folders",
            args.data.display()
        );
    }
    let val = if let Some(dir) = &args.val_data {
        let mut o = options(false, None);
        o.classes = Some(classes.clone());
        Some(
            base()
                .flow_from_directory(dir, o)
                .with_context(|| format!("reading {}", dir.display()))?,
        )
    } else if split > 0.0 {
        let v = base().validation_split(split);
        Some(v.flow_from_directory(&args.data, options(false, val_subset))?)
    } else {
        None
    };
    Ok(Data {
        train,
        val,
        classes,
    })
}
