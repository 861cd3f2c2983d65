//! Transfer learning end to end, as a Keras user does it: a base pretrained by real Keras
//! (`models/demo_backbone.h5`, trained on circles/squares/triangles/crosses) is cut at its
//! `features` layer, frozen, given a new head, trained with augmentation on a task it never saw
//! (rings/diamonds/stripes/dots, generated here), then its top block is unfrozen and trained at a
//! lower learning rate. It must clearly beat the same procedure on a randomly initialised base,
//! and the frozen phase must leave every base weight and BatchNorm statistic bit-identical.

use std::path::Path;

use graft::data::{ClassMode, Flow, FlowFromDirectoryOptions, ImageDataGenerator};
use graft::train::{FitOptions, Head, Trainer, Verbosity};
use graft::{Graph, Op};
use graft_tests::synthetic::{NEW_SHAPES, write_folder};
use graft_tests::tasks::compile_options;

const SIZE: u32 = 32;
const FROZEN_EPOCHS: usize = 8;
const ALL_EPOCHS: usize = 12;

fn backbone() -> Graph {
    graft::load_graph(Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/demo_backbone.h5"))
        .expect("the committed demo backbone loads")
}

fn flows(root: &Path) -> (Flow, Flow) {
    let options = |dir: &str, shuffle: bool| {
        (
            root.join(dir),
            FlowFromDirectoryOptions {
                target_size: (SIZE as usize, SIZE as usize),
                class_mode: ClassMode::Sparse,
                batch_size: 16,
                shuffle,
                seed: Some(11),
                ..Default::default()
            },
        )
    };
    let augment = ImageDataGenerator::new()
        .rotation_range(10.0)
        .width_shift_range(0.1)
        .height_shift_range(0.1)
        .horizontal_flip(true);
    let (dir, opts) = options("train", true);
    let train = augment
        .flow_from_directory(dir, opts)
        .expect("train folder");
    let (dir, opts) = options("val", false);
    let val = ImageDataGenerator::new()
        .flow_from_directory(dir, opts)
        .expect("val folder");
    (train, val)
}

/// Weights of every layer up to and including `features`, in layer order.
fn base_weights(graph: &Graph) -> Vec<(String, Vec<f32>)> {
    let end = graph.layer_index("features").expect("features layer");
    graph.layers[..=end]
        .iter()
        .flat_map(|l| {
            l.weights
                .iter()
                .map(move |w| (format!("{}/{}", l.name, w.name), w.tensor.data().to_vec()))
        })
        .collect()
}

/// `base` cut at `features`, frozen, with a new softmax head (seeded), compiled with Adam 1e-2.
fn frozen_base_with_head(base: &Graph, dropout: f32) -> Trainer {
    let cut = base.cut_at("features").expect("cut");
    let mut graph = Head::classifier(NEW_SHAPES.len())
        .dropout(dropout)
        .seed(5)
        .attach(&cut)
        .expect("head");
    graph.freeze_until("features").expect("freeze");
    let model = graft::Model::new(graph, &graft::default_device()).expect("model");
    Trainer::compile(model, compile_options(1e-2)).expect("compile")
}

/// Cut, head, freeze, train; unfreeze block 3, train more. Returns the final validation accuracy.
fn transfer(base: &Graph, train: &Flow, val: &Flow) -> f64 {
    let mut trainer = frozen_base_with_head(base, 0.2);
    let before = base_weights(&trainer.model().to_graph());
    let options = |initial_epoch, epochs| FitOptions {
        epochs,
        initial_epoch,
        verbosity: Verbosity::Quiet,
        seed: 1,
        ..Default::default()
    };
    trainer
        .fit(train, Some(val), options(0, FROZEN_EPOCHS))
        .expect("frozen phase");
    let after = base_weights(&trainer.model().to_graph());
    assert_eq!(before.len(), after.len());
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        assert!(
            a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "frozen weight {name} changed during the frozen phase"
        );
    }
    // Fine-tune: unfreeze the last block (conv + BN) at a lower learning rate.
    trainer.recompile(1e-3, |g| g.freeze_until("block2_pool").expect("layer"));
    let history = trainer
        .fit(train, Some(val), options(FROZEN_EPOCHS, ALL_EPOCHS))
        .expect("fine-tune phase");
    let accuracy = history.get("val_accuracy").expect("val_accuracy logged");
    assert_eq!(accuracy.len(), ALL_EPOCHS - FROZEN_EPOCHS);
    *accuracy.last().expect("epochs ran")
}

#[test]
fn pretrained_base_transfers_and_frozen_weights_stay_put() {
    let dir = tempfile_dir("transfer");
    write_folder(&dir.join("train"), &NEW_SHAPES, 48, SIZE, 101);
    write_folder(&dir.join("val"), &NEW_SHAPES, 24, SIZE, 202);
    let (train, val) = flows(&dir);

    let pretrained = transfer(&backbone(), &train, &val);

    // The same architecture, randomly initialised the way Keras would (seeded).
    let mut random = backbone();
    for layer in &mut random.layers {
        layer.weights.clear();
        if let Op::Model(_) = layer.op {
            unreachable!("flat backbone");
        }
    }
    random.initialize_missing_weights(9).expect("init");
    let scratch = transfer(&random, &train, &val);

    println!("validation accuracy: pretrained base {pretrained:.3}, random base {scratch:.3}");
    assert!(
        pretrained >= 0.8,
        "the pretrained base reached only {pretrained:.3}"
    );
    assert!(
        pretrained >= scratch + 0.15,
        "the pretrained base ({pretrained:.3}) is not clearly better than a random one ({scratch:.3})"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh folder per test (tests run in parallel threads of one process).
fn tempfile_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("graft-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Frozen base + new head on data without augmentation: the base's outputs are cached, and the
/// run ends with the weights the uncached run reaches.
#[test]
fn feature_caching_matches_the_uncached_path() {
    let dir = tempfile_dir("cache");
    write_folder(&dir, &NEW_SHAPES, 24, SIZE, 303);
    let flow = ImageDataGenerator::new()
        .flow_from_directory(
            &dir,
            FlowFromDirectoryOptions {
                target_size: (SIZE as usize, SIZE as usize),
                class_mode: ClassMode::Sparse,
                batch_size: 16,
                seed: Some(4),
                ..Default::default()
            },
        )
        .expect("folder");
    let run = |cache: bool| {
        let mut trainer = frozen_base_with_head(&backbone(), 0.3);
        let history = trainer
            .fit(
                &flow,
                None,
                FitOptions {
                    epochs: 4,
                    cache_features: cache,
                    verbosity: Verbosity::Quiet,
                    seed: 2,
                    ..Default::default()
                },
            )
            .expect("fit");
        let head = trainer.model().to_graph();
        let w = head.layer("predictions").expect("head").weights[0]
            .tensor
            .data()
            .to_vec();
        (
            w,
            history.get("loss").expect("loss").to_vec(),
            trainer.last_cache,
        )
    };
    let (cached, cached_loss, cache_info) = run(true);
    let (plain, plain_loss, plain_info) = run(false);
    assert!(
        cache_info.is_some(),
        "the frozen base's outputs were not cached"
    );
    assert!(plain_info.is_none());
    let scale = plain.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = cached
        .iter()
        .zip(&plain)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    println!(
        "cached vs uncached head weights: max difference {worst:e} (scale {scale}); losses {cached_loss:?} vs {plain_loss:?}"
    );
    // Identical, not merely close: the cache holds exactly the features the frozen base
    // computes on each batch, so the head sees the same numbers in the same order.
    assert_eq!(
        worst, 0.0,
        "cached training diverged from uncached: {worst:e}"
    );
    assert_eq!(cached_loss, plain_loss, "per-epoch losses differ");
    let _ = std::fs::remove_dir_all(&dir);
}
