//! The fixed (default) mode differs from `keras_compat(true)` exactly where Keras' bugs are: the swapped
//! shift axes, the period n-1 `wrap`, and the off-centre pivot of non-square images.

use graft_data::{
    AffineInterpolation, AffineParams, FillMode, ImageDataGenerator, ImageShape, ResampleOptions,
    Shift, TransformParams, apply_affine_transform,
};

fn pattern(shape: ImageShape) -> Vec<f32> {
    (0..shape.len())
        .map(|i| ((i * 37 + i / 7 * 11) % 251) as f32)
        .collect()
}

fn run(
    src: &[f32],
    shape: ImageShape,
    params: &AffineParams,
    fill_mode: FillMode,
    compat: bool,
) -> Vec<f32> {
    let options = ResampleOptions {
        fill_mode,
        cval: 0.0,
        interpolation: AffineInterpolation::Bilinear,
        keras_wrap: compat,
    };
    let mut out = vec![0.0; shape.len()];
    apply_affine_transform(src, shape, params, &options, compat, &mut out).unwrap();
    out
}

#[test]
fn square_images_without_wrap_are_identical_in_both_modes() {
    let shape = ImageShape::new(32, 32, 3);
    let src = pattern(shape);
    let params = AffineParams {
        theta: 23.0,
        tx: 2.5,
        ty: -1.25,
        shear: 7.0,
        zx: 0.9,
        zy: 1.15,
    };
    for fill_mode in [FillMode::Nearest, FillMode::Reflect, FillMode::Constant] {
        assert_eq!(
            run(&src, shape, &params, fill_mode, false),
            run(&src, shape, &params, fill_mode, true),
            "{fill_mode}"
        );
    }
}

#[test]
fn non_square_images_pivot_about_their_centre_only_in_fixed_mode() {
    // A 2x zoom-in of a non-square image: the true centre stays put in fixed mode.
    let shape = ImageShape::new(10, 16, 1);
    let mut src = vec![0.0f32; shape.len()];
    // Mark the four central pixels (rows 4-5, cols 7-8).
    for (r, c) in [(4, 7), (4, 8), (5, 7), (5, 8)] {
        src[r * 16 + c] = 100.0;
    }
    let params = AffineParams {
        zx: 0.5,
        zy: 0.5,
        ..Default::default()
    };
    let fixed = run(&src, shape, &params, FillMode::Constant, false);
    let compat = run(&src, shape, &params, FillMode::Constant, true);
    // Fixed: the centre pixels stay lit, symmetric about the centre.
    for (r, c) in [(4, 7), (4, 8), (5, 7), (5, 8)] {
        assert!(fixed[r * 16 + c] > 50.0, "fixed mode moved the centre");
    }
    let centroid = |img: &[f32]| {
        let total: f32 = img.iter().sum();
        let (mut cr, mut cc) = (0.0, 0.0);
        for (i, v) in img.iter().enumerate() {
            cr += (i / 16) as f32 * v;
            cc += (i % 16) as f32 * v;
        }
        (cr / total, cc / total)
    };
    let (fr, fc) = centroid(&fixed);
    assert!(
        (fr - 4.5).abs() < 1e-3 && (fc - 7.5).abs() < 1e-3,
        "{fr} {fc}"
    );
    // Keras pivots about (row 7.5, col 4.5) read from (w/2, h/2): the bright block moves.
    let (kr, kc) = centroid(&compat);
    assert!(
        (kr - 4.5).abs() > 1.0 || (kc - 7.5).abs() > 1.0,
        "{kr} {kc}"
    );
}

#[test]
fn wrap_tiles_with_period_n_in_fixed_mode_and_n_minus_1_in_compat() {
    let shape = ImageShape::new(12, 12, 1);
    let src = pattern(shape);
    // Shifting by exactly the width must give the image back when tiling with period n.
    let params = AffineParams {
        tx: 12.0,
        ..Default::default()
    };
    assert_eq!(run(&src, shape, &params, FillMode::Wrap, false), src);
    let compat = run(&src, shape, &params, FillMode::Wrap, true);
    assert_ne!(compat, src);
    // A shift of 11 columns (input column = output column + 11). scipy's legacy wrap folds coordinates
    // with period 11 into [0, 11]: columns 1..=10 come back unchanged, column 0 reads column 11 and
    // column 11 reads column 0. True tiling (period 12) shifts every column by one instead.
    let params = AffineParams {
        tx: 11.0,
        ..Default::default()
    };
    let compat = run(&src, shape, &params, FillMode::Wrap, true);
    let fixed = run(&src, shape, &params, FillMode::Wrap, false);
    for r in 0..12 {
        let row = |img: &[f32], c: usize| img[r * 12 + c];
        for c in 1..11 {
            assert_eq!(row(&compat, c), row(&src, c), "compat ({r},{c})");
        }
        assert_eq!(row(&compat, 0), row(&src, 11));
        assert_eq!(row(&compat, 11), row(&src, 0));
        for c in 0..12 {
            assert_eq!(row(&fixed, c), row(&src, (c + 11) % 12), "fixed ({r},{c})");
        }
    }
    // Without wrap, the modes agree on square images.
    assert_eq!(
        run(&src, shape, &params, FillMode::Nearest, false),
        run(&src, shape, &params, FillMode::Nearest, true)
    );
}

#[test]
fn width_shift_range_moves_columns_in_fixed_mode_and_rows_in_compat() {
    // A 20x30 image whose values encode (row, col); shift by exactly 3 pixels via a one-value list.
    let shape = ImageShape::new(20, 30, 1);
    let src: Vec<f32> = (0..shape.len())
        .map(|i| ((i / 30) * 100 + i % 30) as f32)
        .collect();
    for compat in [false, true] {
        let generator = ImageDataGenerator::new()
            .width_shift_range(Shift::List(vec![3.0]))
            .keras_compat(compat);
        let params = generator.random_transform_params(20, 30, 1, 0, 0);
        let sign = if compat {
            params.ty.signum()
        } else {
            params.tx.signum()
        };
        let mut out = vec![0.0; shape.len()];
        generator
            .apply_transform(&src, shape, &params, &mut out)
            .unwrap();
        for r in 5..15 {
            for c in 5..25 {
                let v = out[r * 30 + c];
                let (row, col) = ((v / 100.0).round() as i64, (v % 100.0).round() as i64);
                if compat {
                    assert_eq!(
                        (row, col),
                        (r as i64 + 3 * sign as i64, c as i64),
                        "compat ({r},{c})"
                    );
                } else {
                    assert_eq!(
                        (row, col),
                        (r as i64, c as i64 + 3 * sign as i64),
                        "fixed ({r},{c})"
                    );
                }
            }
        }
    }
}

#[test]
fn apply_transform_with_neutral_params_is_a_copy() {
    let shape = ImageShape::new(5, 6, 3);
    let src = pattern(shape);
    let mut out = vec![0.0; shape.len()];
    ImageDataGenerator::new()
        .apply_transform(&src, shape, &TransformParams::default(), &mut out)
        .unwrap();
    assert_eq!(out, src);
}
