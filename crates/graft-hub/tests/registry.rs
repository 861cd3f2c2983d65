//! The shipped registry (`models/registry.toml`).

use std::collections::HashSet;

use graft_hub::{HashAlgorithm, Preprocessing, Registry, WeightsQuery};

#[test]
fn every_entry_is_complete() {
    let registry = Registry::load_default().unwrap();
    // The embedded copy and the file on disk are the same registry.
    let on_disk = Registry::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/registry.toml"
    ))
    .unwrap();
    assert_eq!(on_disk.weights(), registry.weights());

    let mut names = HashSet::new();
    for w in registry.weights() {
        assert!(names.insert(w.name.clone()), "duplicate {}", w.name);
        assert!(!w.architecture.is_empty(), "{}", w.name);
        assert!(
            w.url
                .starts_with("https://storage.googleapis.com/tensorflow/keras-applications/"),
            "{}",
            w.url
        );
        assert!(w.url.ends_with(&format!("/{}", w.file_name)), "{}", w.name);
        assert_eq!(w.hash.is_some(), w.hash_algorithm.is_some(), "{}", w.name);
        if let Some(hash) = w.file_hash().unwrap() {
            assert_eq!(hash.algorithm(), HashAlgorithm::Md5, "{}", w.name);
        }
        assert_eq!(w.input_size[2], 3);
        assert_eq!(w.classes, w.include_top.then_some(1000), "{}", w.name);
        w.request().unwrap();
    }
    for f in registry.files() {
        assert!(names.insert(f.name.clone()));
        assert!(f.request().unwrap().hash().is_some());
    }
}

#[test]
fn registry_covers_keras_applications() {
    let registry = Registry::load_default().unwrap();
    let count = |arch: &str| {
        registry
            .weights()
            .iter()
            .filter(|w| w.architecture == arch)
            .count()
    };
    for arch in [
        "VGG16",
        "VGG19",
        "ResNet50",
        "ResNet101",
        "ResNet152",
        "ResNet50V2",
        "ResNet101V2",
        "ResNet152V2",
    ] {
        assert_eq!(count(arch), 2, "{arch}");
        for top in [true, false] {
            let w = registry.find(arch, top, None, None).unwrap();
            assert!(w.hash.is_some(), "{arch} has published hashes");
        }
    }
    assert_eq!(count("MobileNet"), 4 * 4 * 2);
    assert_eq!(count("MobileNetV2"), 6 * 5 * 2);
    assert_eq!(count("MobileNetV3Small"), 6);
    assert_eq!(count("MobileNetV3Large"), 6);
    assert_eq!(registry.weights().len(), 16 + 32 + 60 + 12);

    for alpha in [0.25, 0.5, 0.75, 1.0] {
        for rows in [128, 160, 192, 224] {
            for top in [true, false] {
                let w = registry
                    .find("MobileNet", top, Some(alpha), Some(rows))
                    .unwrap();
                assert!(w.hash.is_none());
                assert_eq!(w.input_size, [rows, rows, 3]);
            }
        }
    }
    for alpha in [0.35, 0.5, 0.75, 1.0, 1.3, 1.4] {
        for rows in [96, 128, 160, 192, 224] {
            for top in [true, false] {
                assert!(
                    registry
                        .find("MobileNetV2", top, Some(alpha), Some(rows))
                        .is_some()
                );
            }
        }
    }
    for arch in ["MobileNetV3Small", "MobileNetV3Large"] {
        for top in [true, false] {
            for alpha in [0.75, 1.0] {
                let w = registry.find(arch, top, Some(alpha), None).unwrap();
                assert_eq!(w.preprocessing, Preprocessing::Identity);
            }
            let q = WeightsQuery::new(arch, top).minimalistic(true);
            assert!(registry.find_query(&q).is_some());
            assert!(registry.find_query(&q.alpha(0.75)).is_none());
        }
    }
}

#[test]
fn known_hashes_and_preprocessing() {
    let registry = Registry::load_default().unwrap();
    let get = |name: &str| registry.get(name).unwrap();
    assert_eq!(
        get("vgg16/imagenet").hash.as_deref(),
        Some("64373286793e3c8b2b4e3219cbf3544b")
    );
    assert_eq!(
        get("resnet50/imagenet-notop").hash.as_deref(),
        Some("4d473c1dd8becc155b73f8504c6f6626")
    );
    assert_eq!(
        get("mobilenet_v3_large/imagenet-1.0-224").hash.as_deref(),
        Some("59e551e166be033d707958cf9e29a6a7")
    );
    assert_eq!(get("resnet50/imagenet").preprocessing, Preprocessing::Caffe);
    assert_eq!(get("resnet50v2/imagenet").preprocessing, Preprocessing::Tf);
    assert_eq!(
        get("mobilenet_v2/imagenet-1.0-224-notop").file_name,
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    );
    assert_eq!(
        get("mobilenet/imagenet-0.25-128").file_name,
        "mobilenet_2_5_128_tf.h5"
    );
    let index = registry.get_file(graft_hub::IMAGENET_CLASS_INDEX).unwrap();
    assert_eq!(
        index.url,
        "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
    );
    assert_eq!(
        index.hash.as_deref(),
        Some("c2c37ea517e94d9795004a39431a14cb")
    );
}
