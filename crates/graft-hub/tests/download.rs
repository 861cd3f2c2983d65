//! Download behaviour against a local HTTP server (no internet needed).

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::{Route, Seen, Server, models_listing, options, payload, temp_cache};
use graft_hub::{
    CacheState, Downloader, FetchOptions, FetchRequest, FileHash, HashAlgorithm, HubError, Registry,
};
use md5::{Digest, Md5};
use sha2::Sha256;

fn md5_hex(data: &[u8]) -> String {
    format!("{:x}", Md5::digest(data))
}

fn sha256_hex(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

fn request(server: &Server, path: &str, file_name: &str, hash: Option<&str>) -> FetchRequest {
    FetchRequest::new(&server.url(path), file_name)
        .unwrap()
        .with_hash(hash.map(|h| FileHash::parse(h).unwrap()))
}

fn seen(path: &str, range: Option<&str>) -> Seen {
    Seen {
        path: path.to_string(),
        range: range.map(str::to_string),
    }
}

#[test]
fn normal_download_is_verified_and_leaves_no_part() {
    let body = payload(300_000, 1);
    let server = Server::start(vec![("/w.h5", Route::serve(&body))]);
    let (_dir, cache) = temp_cache();
    let downloader = Downloader::new(cache.clone(), options());

    let path = downloader
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(path, cache.models_dir().join("w.h5"));
    assert_eq!(fs::read(&path).unwrap(), body);
    assert_eq!(models_listing(&cache), vec!["w.h5", "w.h5.lock"]);
    assert_eq!(server.seen(), vec![seen("/w.h5", None)]);

    // Second fetch: served from the cache, no request.
    assert_eq!(
        downloader
            .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
            .unwrap(),
        path
    );
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn sha256_hash_is_detected_from_its_length() {
    let body = payload(10_000, 2);
    let server = Server::start(vec![("/s.bin", Route::serve(&body))]);
    let (_dir, cache) = temp_cache();
    let hash = FileHash::parse(&sha256_hex(&body)).unwrap();
    assert_eq!(hash.algorithm(), HashAlgorithm::Sha256);
    let path = Downloader::new(cache, options())
        .fetch(&request(&server, "/s.bin", "s.bin", Some(hash.hex())))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), body);
}

#[test]
fn hash_mismatch_leaves_nothing_in_the_cache() {
    let body = payload(50_000, 3);
    let server = Server::start(vec![("/w.h5", Route::serve(&body))]);
    let (_dir, cache) = temp_cache();
    let wrong = md5_hex(b"something else");
    let url = server.url("/w.h5");

    let err = Downloader::new(cache.clone(), options())
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&wrong)))
        .unwrap_err();
    match &err {
        HubError::HashMismatch {
            url: u,
            expected,
            actual,
            ..
        } => {
            assert_eq!(u, &url);
            assert_eq!(expected, &wrong);
            assert_eq!(actual, &md5_hex(&body));
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&url) && message.contains(&wrong) && message.contains(&md5_hex(&body))
    );
    assert!(!cache.path_for("w.h5").exists());
    assert!(!cache.part_path_for("w.h5").exists());
    assert_eq!(cache.state("w.h5"), CacheState::Missing);
}

#[test]
fn dropped_connection_is_resumed_with_a_range_request() {
    let body = payload(200_000, 4);
    let cut = 70_000;
    let server = Server::start(vec![(
        "/w.h5",
        Route::DropAfter {
            body: body.clone(),
            cut,
            times: 1,
        },
    )]);
    let (_dir, cache) = temp_cache();
    let path = Downloader::new(cache.clone(), options())
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), body);
    assert_eq!(
        server.seen(),
        vec![
            seen("/w.h5", None),
            seen("/w.h5", Some(&format!("bytes={cut}-")))
        ]
    );
    assert!(!cache.part_path_for("w.h5").exists());
}

#[test]
fn attempts_that_receive_data_do_not_use_up_retries() {
    let body = payload(100_000, 18);
    let server = Server::start(vec![(
        "/w.h5",
        Route::DropAfter {
            body: body.clone(),
            cut: 10_000,
            times: 1000,
        },
    )]);
    let (_dir, cache) = temp_cache();
    let options = FetchOptions {
        max_retries: 1,
        ..options()
    };
    let path = Downloader::new(cache, options)
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), body);
    let ranges: Vec<Option<String>> = server.seen().into_iter().map(|s| s.range).collect();
    let expected: Vec<Option<String>> = (0..10)
        .map(|i| (i > 0).then(|| format!("bytes={}-", i * 10_000)))
        .collect();
    assert_eq!(ranges, expected);
}

#[test]
fn part_left_by_an_earlier_run_is_resumed() {
    let body = payload(100_000, 5);
    let server = Server::start(vec![("/w.h5", Route::serve(&body))]);
    let (_dir, cache) = temp_cache();
    fs::create_dir_all(cache.models_dir()).unwrap();
    fs::write(cache.part_path_for("w.h5"), &body[..12_345]).unwrap();
    let path = Downloader::new(cache, options())
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), body);
    assert_eq!(server.seen(), vec![seen("/w.h5", Some("bytes=12345-"))]);
}

#[test]
fn server_ignoring_range_restarts_from_zero() {
    let body = payload(40_000, 6);
    let server = Server::start(vec![(
        "/w.h5",
        Route::Serve {
            body: body.clone(),
            ranges: false,
            delay: Duration::ZERO,
        },
    )]);
    let (_dir, cache) = temp_cache();
    fs::create_dir_all(cache.models_dir()).unwrap();
    fs::write(cache.part_path_for("w.h5"), &body[..1000]).unwrap();
    let path = Downloader::new(cache, options())
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), body);
    assert_eq!(server.seen(), vec![seen("/w.h5", Some("bytes=1000-"))]);
}

#[test]
fn complete_part_answered_with_416_is_verified_and_kept() {
    let body = payload(5_000, 7);
    let server = Server::start(vec![("/w.h5", Route::serve(&body))]);
    let (_dir, cache) = temp_cache();
    fs::create_dir_all(cache.models_dir()).unwrap();
    fs::write(cache.part_path_for("w.h5"), &body).unwrap();
    let path = Downloader::new(cache, options())
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), body);
    assert_eq!(server.seen(), vec![seen("/w.h5", Some("bytes=5000-"))]);
}

#[test]
fn stale_part_with_wrong_bytes_is_downloaded_again_from_scratch() {
    let body = payload(30_000, 8);
    let server = Server::start(vec![("/w.h5", Route::serve(&body))]);
    let (_dir, cache) = temp_cache();
    fs::create_dir_all(cache.models_dir()).unwrap();
    fs::write(cache.part_path_for("w.h5"), payload(10_000, 99)).unwrap();
    let path = Downloader::new(cache, options())
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), body);
    assert_eq!(
        server.seen(),
        vec![seen("/w.h5", Some("bytes=10000-")), seen("/w.h5", None)]
    );
}

#[test]
fn server_errors_are_retried_until_success() {
    let body = payload(20_000, 9);
    let server = Server::start(vec![(
        "/w.h5",
        Route::FailThen {
            failures: 2,
            status: 500,
            body: body.clone(),
        },
    )]);
    let (_dir, cache) = temp_cache();
    let path = Downloader::new(cache, options())
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), body);
    assert_eq!(server.seen().len(), 3);
}

#[test]
fn persistent_server_errors_give_up_after_the_configured_retries() {
    let server = Server::start(vec![(
        "/w.h5",
        Route::FailThen {
            failures: 100,
            status: 503,
            body: Vec::new(),
        },
    )]);
    let (_dir, cache) = temp_cache();
    let err = Downloader::new(cache.clone(), options())
        .fetch(&request(&server, "/w.h5", "w.h5", None))
        .unwrap_err();
    match &err {
        HubError::Download {
            attempts, cause, ..
        } => {
            assert_eq!(*attempts, 4);
            assert!(cause.contains("503"), "{cause}");
        }
        other => panic!("expected a download error, got {other:?}"),
    }
    assert_eq!(server.seen().len(), 4);
    assert!(!cache.path_for("w.h5").exists());
}

#[test]
fn not_found_is_not_retried() {
    let server = Server::start(vec![]);
    let (_dir, cache) = temp_cache();
    let err = Downloader::new(cache.clone(), options())
        .fetch(&request(&server, "/missing.h5", "missing.h5", None))
        .unwrap_err();
    assert!(
        matches!(err, HubError::HttpStatus { status: 404, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("/missing.h5") && message.contains("404 Not Found"),
        "{message}"
    );
    assert_eq!(server.seen().len(), 1);
    assert!(!cache.path_for("missing.h5").exists());
    assert!(!cache.part_path_for("missing.h5").exists());
}

#[test]
fn redirects_are_followed() {
    let body = payload(8_000, 10);
    let server = Server::start(vec![
        (
            "/old/w.h5",
            Route::Redirect {
                to: "/new/w.h5".into(),
            },
        ),
        ("/new/w.h5", Route::serve(&body)),
    ]);
    let (_dir, cache) = temp_cache();
    let path = Downloader::new(cache, options())
        .fetch(&request(
            &server,
            "/old/w.h5",
            "w.h5",
            Some(&md5_hex(&body)),
        ))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), body);
    assert_eq!(
        server.seen(),
        vec![seen("/old/w.h5", None), seen("/new/w.h5", None)]
    );
}

#[test]
fn stalled_server_times_out_after_the_configured_retries() {
    let server = Server::start(vec![(
        "/w.h5",
        Route::Stall {
            delay: Duration::from_secs(3),
        },
    )]);
    let (_dir, cache) = temp_cache();
    let options = FetchOptions {
        read_timeout: Duration::from_millis(200),
        max_retries: 2,
        ..options()
    };
    let started = Instant::now();
    let err = Downloader::new(cache.clone(), options)
        .fetch(&request(&server, "/w.h5", "w.h5", None))
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    match &err {
        HubError::Download {
            attempts,
            cause,
            part_path,
            ..
        } => {
            assert_eq!(*attempts, 3);
            assert!(cause.contains("timed out"), "{cause}");
            assert_eq!(part_path, &None);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(server.seen().len(), 3);
    assert!(!cache.path_for("w.h5").exists());
    assert!(!cache.part_path_for("w.h5").exists());
}

#[test]
fn offline_uses_the_cache_without_any_request() {
    let body = payload(1_000, 11);
    let server = Server::start(vec![("/w.h5", Route::serve(&body))]);
    let (_dir, cache) = temp_cache();
    fs::create_dir_all(cache.models_dir()).unwrap();
    fs::write(cache.path_for("w.h5"), &body).unwrap();
    let offline = FetchOptions {
        offline: true,
        ..options()
    };
    let path = Downloader::new(cache.clone(), offline)
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(path, cache.path_for("w.h5"));
    assert!(server.seen().is_empty());
}

#[test]
fn offline_without_a_cached_file_is_a_clear_error() {
    let server = Server::start(vec![("/w.h5", Route::serve(b"data"))]);
    let (_dir, cache) = temp_cache();
    let offline = FetchOptions {
        offline: true,
        ..options()
    };
    let err = Downloader::new(cache.clone(), offline)
        .fetch(&request(&server, "/w.h5", "w.h5", None))
        .unwrap_err();
    assert!(matches!(err, HubError::Offline { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("w.h5"), "{message}");
    assert!(
        message.contains(&cache.path_for("w.h5").display().to_string()),
        "{message}"
    );
    assert!(message.contains("GRAFT_OFFLINE"), "{message}");
    assert!(server.seen().is_empty());
    assert!(!cache.models_dir().exists(), "offline mode must not write");
}

#[test]
fn cached_file_with_a_wrong_hash_is_fetched_again() {
    let body = payload(9_000, 12);
    let server = Server::start(vec![("/w.h5", Route::serve(&body))]);
    let (_dir, cache) = temp_cache();
    fs::create_dir_all(cache.models_dir()).unwrap();
    fs::write(cache.path_for("w.h5"), b"truncated").unwrap();
    let path = Downloader::new(cache, options())
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), body);
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn cached_file_without_a_hash_is_trusted() {
    let server = Server::start(vec![("/w.h5", Route::serve(b"new"))]);
    let (_dir, cache) = temp_cache();
    fs::create_dir_all(cache.models_dir()).unwrap();
    fs::write(cache.path_for("w.h5"), b"old").unwrap();
    let path = Downloader::new(cache, options())
        .fetch(&request(&server, "/w.h5", "w.h5", None))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), b"old");
    assert!(server.seen().is_empty());
}

#[test]
fn keras_cache_file_with_the_right_hash_is_copied_not_downloaded() {
    let body = payload(4_000, 13);
    let server = Server::start(vec![("/w.h5", Route::serve(b"should not be used"))]);
    let (dir, cache) = temp_cache();
    let keras_models = dir.path().join("keras/models");
    fs::create_dir_all(&keras_models).unwrap();
    fs::write(keras_models.join("w.h5"), &body).unwrap();
    let path = Downloader::new(cache.clone(), options())
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(path, cache.path_for("w.h5"));
    assert_eq!(fs::read(&path).unwrap(), body);
    assert!(server.seen().is_empty());
    // Keras' cache is left as it was.
    assert_eq!(fs::read(keras_models.join("w.h5")).unwrap(), body);
    assert_eq!(models_listing(&cache), vec!["w.h5", "w.h5.lock"]);
}

#[test]
fn keras_cache_also_serves_offline_mode() {
    let body = payload(4_000, 14);
    let server = Server::start(vec![]);
    let (dir, cache) = temp_cache();
    let keras_models = dir.path().join("keras/models");
    fs::create_dir_all(&keras_models).unwrap();
    fs::write(keras_models.join("w.h5"), &body).unwrap();
    let offline = FetchOptions {
        offline: true,
        ..options()
    };
    let path = Downloader::new(cache, offline)
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), body);
    assert!(server.seen().is_empty());
}

#[test]
fn keras_cache_file_with_a_wrong_hash_is_ignored() {
    let body = payload(4_000, 15);
    let server = Server::start(vec![("/w.h5", Route::serve(&body))]);
    let (dir, cache) = temp_cache();
    let keras_models = dir.path().join("keras/models");
    fs::create_dir_all(&keras_models).unwrap();
    fs::write(keras_models.join("w.h5"), b"corrupt").unwrap();
    let path = Downloader::new(cache.clone(), options())
        .fetch(&request(&server, "/w.h5", "w.h5", Some(&md5_hex(&body))))
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), body);
    assert_eq!(server.seen().len(), 1);
    assert_eq!(fs::read(keras_models.join("w.h5")).unwrap(), b"corrupt");
    // No temporary copy left behind.
    assert_eq!(models_listing(&cache), vec!["w.h5", "w.h5.lock"]);
}

#[test]
fn concurrent_fetches_of_one_file_download_it_once() {
    let body = payload(100_000, 16);
    let server = Server::start(vec![(
        "/w.h5",
        Route::Serve {
            body: body.clone(),
            ranges: true,
            delay: Duration::from_millis(300),
        },
    )]);
    let (_dir, cache) = temp_cache();
    let hash = md5_hex(&body);
    let req = request(&server, "/w.h5", "w.h5", Some(&hash));
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let downloader = Downloader::new(cache.clone(), options());
                let req = req.clone();
                scope.spawn(move || downloader.fetch(&req))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for result in results {
        assert_eq!(fs::read(result.unwrap()).unwrap(), body);
    }
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn download_by_url_or_registry_name() {
    let body = payload(3_000, 17);
    let server = Server::start(vec![("/files/data.bin", Route::serve(&body))]);
    let (_dir, cache) = temp_cache();
    let downloader = Downloader::new(cache.clone(), options());
    let registry = Registry::load_default().unwrap();

    // A URL: cached under its last path segment, with an optional hash.
    let url = server.url("/files/data.bin");
    let path = downloader
        .download(&registry, &url, Some(&md5_hex(&body)))
        .unwrap();
    assert_eq!(path, cache.path_for("data.bin"));
    let err = downloader
        .download(&registry, &url, Some("not-a-hash"))
        .unwrap_err();
    assert!(matches!(err, HubError::InvalidHash { .. }), "{err:?}");

    // A registry entry in offline mode names the Keras file it needs.
    let offline = Downloader::new(
        cache.clone(),
        FetchOptions {
            offline: true,
            ..options()
        },
    );
    let err = offline
        .download(&registry, "resnet50/imagenet-notop", None)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        "{err}"
    );
    let err = offline
        .download(&registry, "resnet50/imagenet-notop", Some(&"0".repeat(32)))
        .unwrap_err();
    assert!(matches!(err, HubError::ConflictingHash { .. }), "{err:?}");
    let err = offline.download(&registry, "resnet51", None).unwrap_err();
    assert!(matches!(err, HubError::UnknownName { .. }), "{err:?}");
}

#[test]
fn imagenet_class_index_goes_through_the_cache() {
    let (_dir, cache) = temp_cache();
    let offline = Downloader::new(
        cache.clone(),
        FetchOptions {
            offline: true,
            ..options()
        },
    );
    let err = offline.imagenet_class_index().unwrap_err();
    let message = err.to_string();
    assert!(message.contains("imagenet_class_index.json"), "{message}");
    assert!(
        message.contains("download.tensorflow.org/data/imagenet_class_index.json"),
        "{message}"
    );
    // A cached file with the wrong md5 is not used offline either.
    fs::create_dir_all(cache.models_dir()).unwrap();
    fs::write(
        cache.path_for("imagenet_class_index.json"),
        r#"{"0": ["n01440764", "tench"]}"#,
    )
    .unwrap();
    assert!(matches!(
        offline.imagenet_class_index().unwrap_err(),
        HubError::Offline { .. }
    ));
}

#[test]
fn applications_listing_reports_cache_state() {
    let (dir, cache) = temp_cache();
    let registry = Registry::load_default().unwrap();
    let keras_models = dir.path().join("keras/models");
    fs::create_dir_all(&keras_models).unwrap();
    fs::write(
        keras_models.join("vgg16_weights_tf_dim_ordering_tf_kernels.h5"),
        b"x",
    )
    .unwrap();
    fs::create_dir_all(cache.models_dir()).unwrap();
    fs::write(
        cache.path_for("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        b"xy",
    )
    .unwrap();
    let rows = graft_hub::applications(&registry, &cache);
    assert_eq!(rows.len(), registry.weights().len());
    let state = |name: &str| {
        rows.iter()
            .find(|r| r.entry.name == name)
            .map(|r| r.state.clone())
            .unwrap()
    };
    assert!(matches!(
        state("resnet50/imagenet-notop"),
        CacheState::Cached { size: 2, .. }
    ));
    assert!(matches!(
        state("vgg16/imagenet"),
        CacheState::InKerasCache { .. }
    ));
    assert_eq!(state("resnet50/imagenet"), CacheState::Missing);
    assert_eq!(rows.iter().filter(|r| r.state.is_available()).count(), 2);
}
