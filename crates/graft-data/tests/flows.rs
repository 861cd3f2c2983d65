//! Iterator behaviour: determinism across thread counts, epochs, prefetch bounds, targets, weights,
//! subsets, lists, previews, EXIF orientation.

mod common;

use common::{fixtures, image_u8};
use graft_data::{
    Batch, ClassMode, ColorMode, DecodeOptions, FlowFromDirectoryOptions, FlowFromListOptions,
    FlowOptions, ImageDataGenerator, Labels, ListLabels, Shift, Subset, decode_file,
    write_previews,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn augmenting() -> ImageDataGenerator {
    ImageDataGenerator::new()
        .rotation_range(20.0)
        .width_shift_range(Shift::Fraction(0.1))
        .height_shift_range(Shift::Fraction(0.1))
        .shear_range(10.0)
        .zoom_range(0.2)
        .horizontal_flip(true)
        .brightness_range(Some((0.8, 1.2)))
        .channel_shift_range(10.0)
        .rescale(1.0 / 255.0)
}

fn random_images(n: usize, h: usize, w: usize, c: usize) -> Vec<f32> {
    (0..n * h * w * c)
        .map(|i| (((i as u64 * 2_654_435_761) >> 7) % 256) as f32)
        .collect()
}

fn epoch_bytes(flow: &graft_data::Flow, epoch: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    for batch in flow.epoch(epoch) {
        let batch = batch.unwrap();
        bytes.extend(batch.x.iter().flat_map(|v| v.to_le_bytes()));
        bytes.extend(batch.indices.iter().flat_map(|v| v.to_le_bytes()));
    }
    bytes
}

#[test]
fn a_seeded_epoch_has_the_same_bytes_on_one_and_two_threads() {
    let x = random_images(37, 24, 20, 3);
    let make = |threads: usize, prefetch: usize| {
        augmenting()
            .flow(
                x.clone(),
                [37, 24, 20, 3],
                None,
                FlowOptions {
                    batch_size: 8,
                    seed: Some(1234),
                    num_threads: Some(threads),
                    prefetch,
                    ..Default::default()
                },
            )
            .unwrap()
    };
    let one = epoch_bytes(&make(1, 0), 3);
    let two = epoch_bytes(&make(2, 2), 3);
    assert_eq!(one, two);
    // And in a caller-provided rayon pool (no pool of the flow's own, prefetch off).
    let flow = augmenting()
        .flow(
            x.clone(),
            [37, 24, 20, 3],
            None,
            FlowOptions {
                batch_size: 8,
                seed: Some(1234),
                prefetch: 0,
                ..Default::default()
            },
        )
        .unwrap();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        assert_eq!(
            pool.install(|| epoch_bytes(&flow, 3)),
            one,
            "{threads} threads"
        );
    }
    // A different epoch or seed gives different batches.
    assert_ne!(epoch_bytes(&make(2, 2), 4), one);
}

#[test]
fn recycled_buffers_give_the_same_batches() {
    let x = random_images(21, 12, 10, 3);
    let flow = augmenting()
        .flow(
            x,
            [21, 12, 10, 3],
            None,
            FlowOptions {
                batch_size: 4,
                seed: Some(77),
                ..Default::default()
            },
        )
        .unwrap();
    let fresh = epoch_bytes(&flow, 1);
    let mut recycled = Vec::new();
    for epoch in [0, 1] {
        recycled.clear();
        for batch in flow.epoch(epoch) {
            let batch = batch.unwrap();
            recycled.extend(batch.x.iter().flat_map(|v| v.to_le_bytes()));
            recycled.extend(batch.indices.iter().flat_map(|v| v.to_le_bytes()));
            flow.recycle(batch);
        }
    }
    assert_eq!(recycled, fresh);
}

#[test]
fn directory_epochs_are_deterministic_across_thread_counts() {
    let make = |threads| {
        augmenting()
            .flow_from_directory(
                fixtures().join("tree"),
                FlowFromDirectoryOptions {
                    target_size: (16, 12),
                    batch_size: 4,
                    seed: Some(9),
                    num_threads: Some(threads),
                    ..Default::default()
                },
            )
            .unwrap()
    };
    assert_eq!(epoch_bytes(&make(1), 0), epoch_bytes(&make(2), 0));
}

#[test]
fn epochs_reshuffle_deterministically_and_cover_every_sample() {
    let x = random_images(10, 4, 4, 1);
    let flow = ImageDataGenerator::new()
        .flow(
            x,
            [10, 4, 4, 1],
            None,
            FlowOptions {
                batch_size: 4,
                seed: Some(5),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(flow.len(), 3);
    let order0 = flow.index_array(0);
    let order1 = flow.index_array(1);
    assert_ne!(order0, order1);
    assert_eq!(order0, flow.index_array(0));
    let mut seen: Vec<usize> = flow.epoch(0).flat_map(|b| b.unwrap().indices).collect();
    assert_eq!(seen, order0);
    seen.sort();
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
    let sizes: Vec<usize> = flow.epoch(1).map(|b| b.unwrap().len()).collect();
    assert_eq!(sizes, [4, 4, 2]);
    assert_eq!(flow.epoch(2).len(), 3);
}

#[test]
fn flow_yields_targets_weights_and_unaugmented_pixels() {
    let x = random_images(6, 3, 2, 3);
    let y: Vec<f32> = (0..6).flat_map(|i| [i as f32, 10.0 * i as f32]).collect();
    let flow = ImageDataGenerator::new()
        .rescale(0.5)
        .flow(
            x.clone(),
            [6, 3, 2, 3],
            Some(y),
            FlowOptions {
                batch_size: 4,
                shuffle: false,
                sample_weight: Some(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
                ..Default::default()
            },
        )
        .unwrap();
    let batches: Vec<Batch> = flow.epoch(0).map(|b| b.unwrap()).collect();
    assert_eq!(batches[0].shape, [4, 3, 2, 3]);
    assert_eq!(batches[1].shape, [2, 3, 2, 3]);
    let expected: Vec<f32> = x[..4 * 18].iter().map(|v| v * 0.5).collect();
    assert_eq!(batches[0].x, expected);
    assert_eq!(
        batches[1].y,
        Labels::Raw {
            data: vec![4.0, 40.0, 5.0, 50.0],
            shape: vec![2, 2]
        }
    );
    assert_eq!(batches[1].sample_weight, Some(vec![5.0, 6.0]));
}

#[test]
fn flow_subsets_split_like_keras_and_check_classes() {
    let x = random_images(10, 2, 2, 1);
    let y: Vec<f32> = (0..10).map(|i| (i % 2) as f32).collect();
    let generator = ImageDataGenerator::new().validation_split(0.3);
    let options = |subset| FlowOptions {
        subset: Some(subset),
        shuffle: false,
        ..Default::default()
    };
    let validation = generator
        .flow(
            x.clone(),
            [10, 2, 2, 1],
            Some(y.clone()),
            options(Subset::Validation),
        )
        .unwrap();
    let training = generator
        .flow(
            x.clone(),
            [10, 2, 2, 1],
            Some(y.clone()),
            options(Subset::Training),
        )
        .unwrap();
    assert_eq!((validation.samples(), training.samples()), (3, 7));
    assert_eq!(training.batch(0, 0).unwrap().x, x[3 * 4..].to_vec());
    // Sorted labels put one class in each subset: Keras refuses.
    let sorted: Vec<f32> = (0..10).map(|i| if i < 5 { 0.0 } else { 1.0 }).collect();
    assert!(
        generator
            .flow(
                x.clone(),
                [10, 2, 2, 1],
                Some(sorted.clone()),
                options(Subset::Validation)
            )
            .is_err()
    );
    let ignore = FlowOptions {
        ignore_class_split: true,
        ..options(Subset::Validation)
    };
    assert!(
        generator
            .flow(x, [10, 2, 2, 1], Some(sorted), ignore)
            .is_ok()
    );
}

#[test]
fn shapes_that_do_not_match_are_errors() {
    let generator = ImageDataGenerator::new();
    assert!(
        generator
            .flow(vec![0.0; 10], [2, 2, 2, 1], None, FlowOptions::default())
            .is_err()
    );
    assert!(
        generator
            .flow(
                vec![0.0; 8],
                [2, 2, 2, 1],
                Some(vec![1.0; 3]),
                FlowOptions::default()
            )
            .is_err()
    );
    let zero_batch = FlowOptions {
        batch_size: 0,
        ..Default::default()
    };
    assert!(
        generator
            .flow(vec![0.0; 8], [2, 2, 2, 1], None, zero_batch)
            .is_err()
    );
    assert!(
        generator
            .flow_from_directory(fixtures().join("no such dir"), Default::default())
            .is_err()
    );
}

#[test]
fn prefetch_never_builds_more_than_prefetch_batches_ahead() {
    let built = Arc::new(AtomicUsize::new(0));
    let counter = built.clone();
    let generator = ImageDataGenerator::new().preprocessing_function(move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let flow = generator
        .flow(
            random_images(40, 2, 2, 1),
            [40, 2, 2, 1],
            None,
            FlowOptions {
                batch_size: 2,
                prefetch: 3,
                ..Default::default()
            },
        )
        .unwrap();
    let mut epoch = flow.epoch(0);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(built.load(Ordering::SeqCst), 3 * 2, "3 batches of 2 ahead");
    epoch.next().unwrap().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(built.load(Ordering::SeqCst), 4 * 2);
    drop(epoch);
    let after_drop = built.load(Ordering::SeqCst);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(built.load(Ordering::SeqCst), after_drop, "stopped on drop");
}

#[test]
fn flow_from_list_indexes_sorted_classes_and_drops_invalid_paths() {
    let tree = fixtures().join("tree");
    let paths: Vec<PathBuf> = [
        "cat/img1.png",
        "10/a.png",
        "2/notes.txt",
        "Dog/z.png",
        "cat/img2.png",
        "missing.png",
    ]
    .iter()
    .map(|p| tree.join(p))
    .collect();
    let labels = ListLabels::Classes(
        ["cat", "ten", "two", "dog", "cat", "dog"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    let flow = ImageDataGenerator::new()
        .flow_from_list(
            paths,
            labels,
            FlowFromListOptions {
                target_size: (6, 6),
                class_mode: ClassMode::Sparse,
                shuffle: false,
                sample_weight: Some(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
                ..Default::default()
            },
        )
        .unwrap();
    // notes.txt (suffix) and missing.png (no file) are dropped; classes sorted from what remains.
    assert_eq!(flow.class_names(), ["cat", "dog", "ten"]);
    assert_eq!(flow.classes(), [0, 2, 1, 0]);
    let batch = flow.batch(0, 0).unwrap();
    assert_eq!(batch.y, Labels::Index(vec![0.0, 2.0, 1.0, 0.0]));
    assert_eq!(batch.sample_weight, Some(vec![1.0, 2.0, 4.0, 5.0]));
    assert_eq!(batch.shape, [4, 6, 6, 3]);
}

#[test]
fn write_previews_writes_exactly_count_images() {
    let out = tempfile::tempdir().unwrap();
    let report = write_previews(
        &fixtures().join("tree"),
        out.path(),
        20,
        &augmenting(),
        &FlowFromDirectoryOptions {
            target_size: (16, 12),
            seed: Some(3),
            save_prefix: "aug".into(),
            ..Default::default()
        },
        true,
    )
    .unwrap();
    assert_eq!(report.written.len(), 20);
    assert_eq!(report.samples, 17);
    assert!(!report.skipped.is_empty(), "the corrupt file is reported");
    let mut names: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 20);
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("aug_") && n.ends_with(".png"))
    );
    let (pixels, shape) = image_u8(report.written[0].to_str().unwrap(), ColorMode::Rgb);
    assert_eq!((shape.height, shape.width), (16, 12));
    assert!(
        pixels.iter().any(|&v| v > 200) && pixels.iter().any(|&v| v < 50),
        "min-max scaled"
    );
}

#[test]
fn gif_and_webp_decode_when_listed() {
    // Keras' white list leaves them out; graft lists them when asked and decodes them.
    let mut formats: Vec<String> = graft_data::WHITE_LIST_FORMATS
        .iter()
        .map(|s| s.to_string())
        .collect();
    formats.extend(["gif".to_string(), "webp".to_string()]);
    let flow = ImageDataGenerator::new()
        .flow_from_directory(
            fixtures().join("tree"),
            FlowFromDirectoryOptions {
                classes: Some(vec!["2".into()]),
                white_list_formats: formats,
                target_size: (8, 8),
                shuffle: false,
                ..Default::default()
            },
        )
        .unwrap();
    let names: Vec<String> = flow
        .filenames()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"2/x.gif".to_string()) && names.contains(&"2/y.webp".to_string()));
    let batch = flow.batch(0, 0).unwrap();
    assert_eq!(batch.skipped.len(), 1, "only the corrupt jpg");
    assert_eq!(batch.len(), names.len() - 1);
}

#[test]
fn exif_orientation_6_decodes_upright() {
    let path = fixtures().join("exif/orientation6.jpg");
    let upright = decode_file(&path, ColorMode::Rgb, &DecodeOptions::default()).unwrap();
    let shape = upright.shape();
    assert_eq!((shape.height, shape.width), (24, 32));
    let pixels = upright.to_f32();
    let at = |r: usize, c: usize| &pixels[(r * 32 + c) * 3..(r * 32 + c) * 3 + 3];
    let close = |px: &[f32], rgb: [f32; 3]| px.iter().zip(rgb).all(|(a, b)| (a - b).abs() < 40.0);
    assert!(
        close(at(3, 3), [255.0, 0.0, 0.0]),
        "top-left red: {:?}",
        at(3, 3)
    );
    assert!(
        close(at(3, 28), [0.0, 255.0, 0.0]),
        "top-right green: {:?}",
        at(3, 28)
    );
    assert!(
        close(at(20, 3), [0.0, 0.0, 255.0]),
        "bottom-left blue: {:?}",
        at(20, 3)
    );
    assert!(
        close(at(20, 28), [255.0; 3]),
        "bottom-right white: {:?}",
        at(20, 28)
    );
    // Keras (PIL) ignores the tag: the stored, sideways image.
    let sideways = decode_file(
        &path,
        ColorMode::Rgb,
        &DecodeOptions {
            exif_orientation: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((sideways.shape().height, sideways.shape().width), (32, 24));
}
