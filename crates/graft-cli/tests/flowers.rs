//! `scripts/finetune_flowers.sh` end to end against a local HTTP server serving small stand-ins
//! (a Keras-saved MobileNetV2 alpha 0.35 96x96 without its top, under the keras-applications
//! file name, and a tar.gz of synthetic class folders laid out like flower_photos.tgz), then
//! again with `GRAFT_OFFLINE=1` and the server gone.

#[path = "../../graft-hub/tests/common/mod.rs"]
mod http;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use http::{Route, Server};

const WEIGHTS_FILE: &str = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// flower_photos.tgz's layout: `flower_photos/<class>/*.png` and a LICENSE file beside them.
fn dataset_archive(work: &Path) -> Vec<u8> {
    let tree = work.join("tree");
    let photos = tree.join("flower_photos");
    graft::data::synthetic::write_folder(&photos, &["ring", "diamond", "stripes"], 12, 96, 5)
        .unwrap();
    std::fs::write(photos.join("LICENSE.txt"), "stand-in").unwrap();
    let archive = work.join("flower_photos.tgz");
    let o = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&tree)
        .arg("flower_photos")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    std::fs::read(&archive).unwrap()
}

fn run_script(out: &Path, home: &Path, env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("scripts/finetune_flowers.sh"))
        .arg(out)
        .env("GRAFT", env!("CARGO_BIN_EXE_graft"))
        .env("GRAFT_HOME", home.join("graft"))
        .env("KERAS_HOME", home.join("keras"))
        .env_remove("GRAFT_OFFLINE")
        .env("EPOCHS", "2")
        .env("BATCH_SIZE", "12");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("bash runs the script")
}

fn check_outputs(out: &Path) {
    for f in [
        "flowers.onnx",
        "flowers.keras",
        "history.json",
        "report.json",
        "report/index.html",
        "report/curves.png",
        "report/confusion_matrix.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("labels.txt")).unwrap(),
        "diamond\nring\nstripes\n"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    // validation_split 0.2 of 12 images per class: 2 per class (Keras rounds the split down).
    let total: u64 = report["confusion_matrix"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .sum();
    assert!(total > 0, "{report}");
}

#[test]
fn flowers_script_downloads_trains_exports_and_reruns_offline() {
    let weights =
        root().join("tests/fixtures/generated/applications/mobilenetv2_a035_96_notop_avg/model.h5");
    assert!(
        weights.is_file(),
        "{} missing: run scripts/fixtures/generate.sh --applications",
        weights.display()
    );
    let work = tempfile::tempdir().unwrap();
    let sha256 =
        |path: &Path| graft_hub::hash_file(path, graft_hub::HashAlgorithm::Sha256).unwrap();
    let weights_hash = sha256(&weights);
    let weights = std::fs::read(weights).unwrap();
    let archive = dataset_archive(work.path());
    let data_hash = sha256(&work.path().join("flower_photos.tgz"));

    let server = Server::start(vec![
        (
            &format!("/keras-applications/{WEIGHTS_FILE}"),
            Route::serve(&weights),
        ),
        ("/example_images/flower_photos.tgz", Route::serve(&archive)),
    ]);
    let env = vec![
        (
            "WEIGHTS",
            server.url(&format!("/keras-applications/{WEIGHTS_FILE}")),
        ),
        ("WEIGHTS_HASH", weights_hash),
        ("DATA_URL", server.url("/example_images/flower_photos.tgz")),
        ("DATA_HASH", data_hash),
    ];
    let home = work.path().join("home");
    let first = work.path().join("run1");
    let o = run_script(&first, &home, &env);
    assert!(
        o.status.success(),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    check_outputs(&first);
    // Keras' cache layout: weights in models/, the archive and its extraction in datasets/.
    let cache = home.join("graft");
    assert!(cache.join("models").join(WEIGHTS_FILE).is_file());
    assert!(cache.join("datasets/flower_photos.tgz").is_file());
    assert!(
        cache
            .join("datasets/flower_photos_extracted/flower_photos/ring")
            .is_dir()
    );
    // One `graft predict` line per class, naming classes from labels.txt.
    let stdout = text(&o.stdout);
    for class in ["diamond", "ring", "stripes"] {
        assert!(stdout.contains(class), "{stdout}");
    }
    let requests = server.seen().len();
    assert_eq!(requests, 2, "{:?}", server.seen());
    drop(server);

    // Offline, from the cache alone.
    let mut offline = env.clone();
    offline.push(("GRAFT_OFFLINE", "1".into()));
    let second = work.path().join("run2");
    let o = run_script(&second, &home, &offline);
    assert!(
        o.status.success(),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    check_outputs(&second);

    // Offline with an empty cache: one clear error naming the missing file, no training.
    let o = run_script(
        &work.path().join("run3"),
        &work.path().join("empty"),
        &offline,
    );
    let err = text(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("offline") && err.contains(WEIGHTS_FILE),
        "{err}"
    );
    assert!(!work.path().join("run3/flowers.onnx").exists());
}
