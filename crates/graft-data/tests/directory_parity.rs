//! `flow_from_directory` on the committed tree against what Keras' `flow_from_directory` made of it
//! (tests/fixtures/images/tree.json, written by scripts/fixtures/images/make_tree_fixtures.py).

mod common;

use common::{fixtures, json};
use graft_data::{
    Batch, ClassMode, DataError, FlowFromDirectoryOptions, ImageDataGenerator, Interpolation,
    Labels, OnBadImage, Subset,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn tree() -> std::path::PathBuf {
    fixtures().join("tree")
}

fn class_mode(v: &Value) -> ClassMode {
    match v.as_str() {
        None => ClassMode::None,
        Some(s) => s.parse().unwrap(),
    }
}

fn options_for(run: &Value) -> FlowFromDirectoryOptions {
    FlowFromDirectoryOptions {
        target_size: (4, 5),
        class_mode: class_mode(&run["class_mode"]),
        batch_size: 3,
        shuffle: false,
        subset: run["subset"].as_str().map(|s| s.parse::<Subset>().unwrap()),
        classes: run["classes_arg"]
            .as_array()
            .map(|a| a.iter().map(|c| c.as_str().unwrap().to_string()).collect()),
        ..Default::default()
    }
}

fn relative(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

#[test]
fn listing_matches_keras_for_every_class_mode_and_subset() {
    let expected = json("tree.json");
    let split = expected["validation_split"].as_f64().unwrap();
    let runs = expected["runs"].as_array().unwrap();
    assert!(runs.len() >= 17);
    for run in runs {
        let label = format!(
            "{} {} {}",
            run["class_mode"], run["subset"], run["classes_arg"]
        );
        let generator = ImageDataGenerator::new().validation_split(split);
        let flow = generator
            .flow_from_directory(tree(), options_for(run))
            .unwrap();
        let indices: BTreeMap<String, usize> =
            serde_json::from_value(run["class_indices"].clone()).unwrap();
        assert_eq!(flow.class_indices(), indices, "{label}: class_indices");
        let filenames: Vec<String> = flow.filenames().iter().map(|p| relative(p)).collect();
        let keras_filenames: Vec<String> =
            serde_json::from_value(run["filenames"].clone()).unwrap();
        assert_eq!(filenames, keras_filenames, "{label}: filenames");
        let classes: Vec<usize> = serde_json::from_value(run["classes"].clone()).unwrap();
        if flow.classes().is_empty() {
            // class_mode input / None: graft keeps no labels, Keras still lists them.
            assert!(matches!(
                options_for(run).class_mode,
                ClassMode::Input | ClassMode::None
            ));
        } else {
            assert_eq!(flow.classes(), classes.as_slice(), "{label}: classes");
        }
        assert_eq!(
            flow.samples() as u64,
            run["samples"].as_u64().unwrap(),
            "{label}"
        );
        assert_eq!(
            flow.len() as u64,
            run["len"].as_u64().unwrap(),
            "{label}: len"
        );
    }
}

/// Keras' labels of one batch, as rows of f32 (a scalar label is a 1-element row).
fn keras_rows(batch: &Value) -> Vec<Vec<f32>> {
    batch["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| match row.as_array() {
            Some(values) => values.iter().map(|v| v.as_f64().unwrap() as f32).collect(),
            None => vec![row.as_f64().unwrap() as f32],
        })
        .collect()
}

fn graft_rows(batch: &Batch) -> Vec<Vec<f32>> {
    match &batch.y {
        Labels::OneHot { data, num_classes } => {
            data.chunks(*num_classes).map(|r| r.to_vec()).collect()
        }
        Labels::Index(values) | Labels::Binary(values) => values.iter().map(|v| vec![*v]).collect(),
        other => panic!("no label rows in {other:?}"),
    }
}

#[test]
fn batches_carry_keras_labels_and_skip_the_corrupt_file() {
    let expected = json("tree.json");
    let split = expected["validation_split"].as_f64().unwrap();
    let broken = "2/broken.jpg";
    assert!(
        expected["load_errors"][broken].is_string(),
        "Keras fails to load the corrupt file"
    );
    for run in expected["runs"].as_array().unwrap() {
        let label = format!(
            "{} {} {}",
            run["class_mode"], run["subset"], run["classes_arg"]
        );
        let generator = ImageDataGenerator::new().validation_split(split);
        let flow = generator
            .flow_from_directory(tree(), options_for(run))
            .unwrap();
        let keras_filenames: Vec<String> =
            serde_json::from_value(run["filenames"].clone()).unwrap();
        let batches: Vec<Batch> = flow.epoch(0).map(|b| b.unwrap()).collect();
        let keras_batches = run["batches"].as_array().unwrap();
        assert_eq!(batches.len(), keras_batches.len(), "{label}");
        let mut skipped = 0;
        for (i, (batch, keras)) in batches.iter().zip(keras_batches).enumerate() {
            let names: Vec<&str> = keras_filenames[i * 3..(i * 3 + 3).min(keras_filenames.len())]
                .iter()
                .map(|s| s.as_str())
                .collect();
            let broken_at = names.iter().position(|n| *n == broken);
            skipped += batch.skipped.len();
            assert_eq!(
                batch.skipped.len(),
                usize::from(broken_at.is_some()),
                "{label} batch {i}"
            );
            assert_eq!(
                batch.len(),
                names.len() - batch.skipped.len(),
                "{label} batch {i}"
            );
            if let Some(bad) = batch.skipped.first() {
                assert!(relative(&bad.path).ends_with(broken));
                assert!(bad.message.contains("broken.jpg"), "{}", bad.message);
            }
            match flow_class_mode(run) {
                ClassMode::None => assert_eq!(batch.y, Labels::None),
                ClassMode::Input => {
                    assert_eq!(batch.y, Labels::Input);
                    let (_, shape) = batch.y_array().unwrap();
                    assert_eq!(shape, vec![batch.len(), 4, 5, 3]);
                }
                _ => {
                    let mut rows = keras_rows(keras);
                    if let Some(at) = broken_at {
                        rows.remove(at);
                    }
                    assert_eq!(graft_rows(batch), rows, "{label} batch {i}");
                }
            }
        }
        let expected_skips = usize::from(keras_filenames.iter().any(|n| n == broken));
        assert_eq!(skipped, expected_skips, "{label}");
        assert_eq!(flow.skipped_images().len(), expected_skips, "{label}");
    }
}

fn flow_class_mode(run: &Value) -> ClassMode {
    class_mode(&run["class_mode"])
}

#[test]
fn on_bad_image_error_fails_only_the_batch_holding_the_corrupt_file() {
    let flow = ImageDataGenerator::new()
        .flow_from_directory(
            tree(),
            FlowFromDirectoryOptions {
                target_size: (4, 5),
                batch_size: 3,
                shuffle: false,
                on_bad_image: OnBadImage::Error,
                ..Default::default()
            },
        )
        .unwrap();
    let results: Vec<Result<Batch, DataError>> = flow.epoch(0).collect();
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("broken.jpg"), "{}", failures[0]);
    assert_eq!(results.len(), flow.len());
}

#[test]
fn decoded_pixels_match_keras_load_img() {
    let expected = json("tree.json");
    let images = expected["load_img_8x10_bilinear"].as_object().unwrap();
    let flow = ImageDataGenerator::new()
        .flow_from_directory(
            tree(),
            FlowFromDirectoryOptions {
                target_size: (8, 10),
                interpolation: Interpolation::Bilinear,
                class_mode: ClassMode::None,
                shuffle: false,
                ..Default::default()
            },
        )
        .unwrap();
    let batch = flow.batch(0, 0).unwrap();
    assert_eq!(batch.len(), images.len());
    let mut compared = 0;
    for (i, path) in batch.paths.iter().enumerate() {
        let name = relative(path.strip_prefix(tree()).unwrap());
        let keras: Vec<f32> = images[&name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let ours = batch.image(i);
        let lossy = name.to_lowercase().ends_with(".jpg") || name.to_lowercase().ends_with(".jpeg");
        let mean = ours
            .iter()
            .zip(&keras)
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / keras.len() as f32;
        println!("{name:24} mean abs difference {mean:.3}");
        if lossy {
            // zune-jpeg and libjpeg-turbo round the IDCT and upsampling differently.
            assert!(mean <= 1.0, "{name}: {mean}");
        } else {
            assert_eq!(ours, keras.as_slice(), "{name}");
        }
        compared += 1;
    }
    assert_eq!(compared, 16);
}
