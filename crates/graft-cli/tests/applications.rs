//! `graft applications` and `graft download`, offline, against caches in temporary folders.

use std::path::Path;
use std::process::{Command, Output};

fn graft(args: &[&str], graft_home: &Path, keras_home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graft"))
        .args(args)
        .env("GRAFT_HOME", graft_home)
        .env("KERAS_HOME", keras_home)
        .env_remove("GRAFT_OFFLINE")
        .output()
        .expect("graft runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn applications_table_counts_params_and_shows_the_cache() {
    let (home, keras) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = graft(
        &["applications", "--architecture", "resnet50"],
        home.path(),
        keras.path(),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("resnet50/imagenet "))
        .unwrap_or_else(|| panic!("{stdout}"));
    // Keras' ResNet50().count_params(), the default input size and preprocessing, not cached.
    for cell in ["ResNet50", "25,636,712", "224x224x3", "caffe"] {
        assert!(row.contains(cell), "{row}");
    }
    assert!(row.trim_end().ends_with('-'), "{row}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");

    // A file in Keras' cache, then in graft's.
    let file = "resnet50_weights_tf_dim_ordering_tf_kernels.h5";
    std::fs::create_dir_all(keras.path().join("models")).unwrap();
    std::fs::write(keras.path().join("models").join(file), b"x").unwrap();
    let out = graft(
        &["applications", "--architecture", "ResNet50"],
        home.path(),
        keras.path(),
    );
    assert!(text(&out).0.contains("in Keras' cache"), "{}", text(&out).0);
    std::fs::create_dir_all(home.path().join("models")).unwrap();
    std::fs::write(home.path().join("models").join(file), b"x").unwrap();
    let out = graft(&["-q", "applications"], home.path(), keras.path());
    let (stdout, stderr) = text(&out);
    assert!(stderr.is_empty(), "{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("resnet50/imagenet "))
        .unwrap();
    assert!(row.trim_end().ends_with("cached"), "{row}");
    assert!(stdout.contains("MobileNetV3Large"), "{stdout}");

    let out = graft(
        &["applications", "--architecture", "AlexNet"],
        home.path(),
        keras.path(),
    );
    assert!(!out.status.success());
    assert!(text(&out).1.contains("'AlexNet'"), "{}", text(&out).1);
}

#[test]
fn download_offline_uses_the_cache_and_checks_hashes() {
    let (home, keras) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Nothing cached: offline fetches fail and name the file.
    let out = graft(
        &["download", "--offline", "resnet50/imagenet-notop"],
        home.path(),
        keras.path(),
    );
    assert!(!out.status.success());
    let stderr = text(&out).1;
    assert!(
        stderr.contains("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        "{stderr}"
    );
    // A cached file with the given md5 is used as is; with another hash it is refused.
    std::fs::create_dir_all(home.path().join("models")).unwrap();
    let cached = home.path().join("models").join("hello.txt");
    std::fs::write(&cached, b"hello").unwrap();
    let url = "http://127.0.0.1:9/files/hello.txt";
    let md5 = "5d41402abc4b2a76b9719d911017c592";
    let out = graft(
        &["download", "--offline", url, "--hash", md5],
        home.path(),
        keras.path(),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(Path::new(stdout.trim()), cached);
    let wrong = "00000000000000000000000000000000";
    let out = graft(
        &["download", "--offline", url, "--hash", wrong],
        home.path(),
        keras.path(),
    );
    assert!(!out.status.success(), "{}", text(&out).0);
    // Unknown names are neither registry entries nor URLs.
    let out = graft(&["download", "no-such-model"], home.path(), keras.path());
    assert!(!out.status.success());
    assert!(text(&out).1.contains("no-such-model"), "{}", text(&out).1);
}
