//! graft's augmentation and loading against Keras' own outputs, written by
//! scripts/fixtures/images/make_augment_fixtures.py (tf_keras 2.21, scipy 1.17, pillow 13).

mod common;

use common::{diff, f32_file, fixtures, image_u8, json};
use graft_data::{
    AffineParams, ColorMode, DecodeOptions, Decoded, FillMode, ImageDataGenerator, ImageShape,
    Interpolation, ResampleOptions, TransformParams, apply_affine_transform, load_img,
};
use serde_json::Value;

/// Pixels this close to the border are ignored (the brief: resampling conventions may differ there).
const BORDER: usize = 3;

fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

fn input(which: &str) -> (Vec<f32>, ImageShape) {
    let (mode, file) = match which {
        "rgb" => (ColorMode::Rgb, "augment/input_rgb.png"),
        "gray" => (ColorMode::Grayscale, "augment/input_gray.png"),
        other => panic!("unknown input {other}"),
    };
    let (data, shape) = image_u8(file, mode);
    (data.into_iter().map(f32::from).collect(), shape)
}

fn keras_output(case: &Value, shape: ImageShape) -> Vec<f32> {
    let expected = f32_file(&format!("augment/{}", case["output"].as_str().unwrap()));
    assert_eq!(expected.len(), shape.len(), "{}", case["name"]);
    expected
}

#[test]
fn affine_transform_matches_keras_in_compat_mode() {
    let cases = json("augment/cases.json");
    let mut checked = 0;
    for case in cases["cases"].as_array().unwrap() {
        if case["function"] != "apply_affine_transform" {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let p = &case["params"];
        let (src, shape) = input(case["image"].as_str().unwrap());
        let params = AffineParams {
            theta: f(p, "theta"),
            tx: f(p, "tx"),
            ty: f(p, "ty"),
            shear: f(p, "shear"),
            zx: f(p, "zx"),
            zy: f(p, "zy"),
        };
        let options = ResampleOptions {
            fill_mode: p["fill_mode"].as_str().unwrap().parse().unwrap(),
            cval: f(p, "cval") as f32,
            interpolation: graft_data::AffineInterpolation::from_order(f(p, "order") as u8)
                .unwrap(),
            keras_wrap: true,
        };
        let mut out = vec![0.0; shape.len()];
        apply_affine_transform(&src, shape, &params, &options, true, &mut out).unwrap();
        let expected = keras_output(case, shape);
        let (mean, max) = diff(&out, &expected, shape, BORDER);
        let (mean_all, max_all) = diff(&out, &expected, shape, 0);
        println!(
            "{name:28} mean {mean:.5} max {max:.4} | with borders: mean {mean_all:.5} max {max_all:.4}"
        );
        assert!(
            mean <= 1.0,
            "{name}: mean abs difference {mean} > 1 grey level"
        );
        checked += 1;
    }
    assert!(checked >= 19, "only {checked} affine cases");
}

#[test]
fn apply_transform_matches_keras_in_compat_mode() {
    let cases = json("augment/cases.json");
    let mut checked = 0;
    for case in cases["cases"].as_array().unwrap() {
        if case["function"] != "apply_transform" {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let p = &case["params"];
        let g = &case["generator"];
        let generator = ImageDataGenerator::new()
            .fill_mode(
                g["fill_mode"]
                    .as_str()
                    .unwrap()
                    .parse::<FillMode>()
                    .unwrap(),
            )
            .cval(f(g, "cval"))
            .interpolation_order(f(g, "interpolation_order") as u8)
            .keras_compat(true);
        let get = |key: &str, default: f64| p[key].as_f64().unwrap_or(default);
        let params = TransformParams {
            theta: get("theta", 0.0),
            tx: get("tx", 0.0),
            ty: get("ty", 0.0),
            shear: get("shear", 0.0),
            zx: get("zx", 1.0),
            zy: get("zy", 1.0),
            flip_horizontal: p["flip_horizontal"].as_bool().unwrap_or(false),
            flip_vertical: p["flip_vertical"].as_bool().unwrap_or(false),
            channel_shift_intensity: p["channel_shift_intensity"].as_f64(),
            brightness: p["brightness"].as_f64(),
        };
        let (src, shape) = input("rgb");
        let mut out = vec![0.0; shape.len()];
        generator
            .apply_transform(&src, shape, &params, &mut out)
            .unwrap();
        let expected = keras_output(case, shape);
        let (mean, max) = diff(&out, &expected, shape, BORDER);
        let (mean_all, max_all) = diff(&out, &expected, shape, 0);
        println!(
            "{name:28} mean {mean:.5} max {max:.4} | with borders: mean {mean_all:.5} max {max_all:.4}"
        );
        assert!(
            mean <= 1.0,
            "{name}: mean abs difference {mean} > 1 grey level"
        );
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} transform cases");
}

#[test]
fn load_img_resize_matches_pil() {
    let cases = json("resize/cases.json");
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let p = &case["params"];
        let mode: ColorMode = p["color_mode"].as_str().unwrap().parse().unwrap();
        let interpolation: Interpolation = p["interpolation"].as_str().unwrap().parse().unwrap();
        let target = p["target_size"].as_array().unwrap();
        let target = (
            target[0].as_u64().unwrap() as usize,
            target[1].as_u64().unwrap() as usize,
        );
        let path = fixtures()
            .join("resize")
            .join(case["input"].as_str().unwrap());
        let Decoded::U8(ours) = load_img(
            &path,
            mode,
            Some(target),
            interpolation,
            p["keep_aspect_ratio"].as_bool().unwrap(),
            &DecodeOptions::default(),
        )
        .unwrap() else {
            panic!("{name}: expected 8 bits")
        };
        let (expected, shape) = image_u8(
            &format!("resize/{}", case["output"].as_str().unwrap()),
            mode,
        );
        assert_eq!(ours.shape, shape, "{name}");
        let differing = ours
            .data
            .iter()
            .zip(&expected)
            .filter(|(a, b)| a != b)
            .count();
        let max = ours
            .data
            .iter()
            .zip(&expected)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        println!(
            "{name:24} {differing} of {} values differ, max {max}",
            expected.len()
        );
        assert_eq!(
            differing, 0,
            "{name}: {differing} values differ from PIL (max {max})"
        );
    }
}
