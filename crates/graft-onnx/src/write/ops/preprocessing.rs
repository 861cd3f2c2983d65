//! Keras 3's image preprocessing layers in ONNX: the random augmentation layers are identities
//! (an exported model is for inference), `Resizing` is `Resize` (after a `Slice` when it crops to
//! the aspect ratio) and `CenterCrop` a `Slice`, channels-first.

use graft_ir::{DataFormat, Interpolation, Preprocessing, PreprocessingConfig, aspect_ratio_crop};

use super::Cx;
use crate::write::builder::A;

pub(crate) fn lower(cx: &mut Cx, p: &PreprocessingConfig) -> Result<(), String> {
    let x = cx.input(0).to_string();
    if p.is_random() {
        cx.emit("Identity", &[&x], vec![]);
        return Ok(());
    }
    if p.data_format != DataFormat::ChannelsFirst {
        return Err("is channels-last; the layout pass should have converted it".into());
    }
    let spatial: Vec<usize> = cx.in_shapes[0].dims()[2..]
        .iter()
        .map(|d| d.ok_or("needs known spatial sizes"))
        .collect::<Result<_, _>>()?;
    let (h, w) = (spatial[0], spatial[1]);
    match &p.kind {
        Preprocessing::Resizing {
            height,
            width,
            interpolation,
            crop_to_aspect_ratio,
        } => {
            let x = if *crop_to_aspect_ratio {
                let (start, size) = aspect_ratio_crop([h, w], [*height, *width]);
                slice(cx, &x, start, size, true)
            } else {
                x
            };
            resize(cx, &x, [*height, *width], *interpolation);
        }
        Preprocessing::CenterCrop { height, width } => {
            if h < *height || w < *width {
                return Err(format!(
                    "crops {h}x{w} images to {height}x{width}; Keras resizes smaller images, which is not exported"
                ));
            }
            slice(
                cx,
                &x,
                [(h - height) / 2, (w - width) / 2],
                [*height, *width],
                false,
            );
        }
        _ => unreachable!("random layers handled above"),
    }
    Ok(())
}

/// A `Slice` of the spatial axes; an intermediate value when `step`, else the layer's output.
fn slice(cx: &mut Cx, x: &str, start: [usize; 2], size: [usize; 2], step: bool) -> String {
    let name = cx.name().to_string();
    let starts = cx.b.ints(
        &format!("{name}/starts"),
        vec![start[0] as i64, start[1] as i64],
    );
    let ends = cx.b.ints(
        &format!("{name}/ends"),
        vec![(start[0] + size[0]) as i64, (start[1] + size[1]) as i64],
    );
    let axes = cx.b.ints(&format!("{name}/axes"), vec![2, 3]);
    if step {
        cx.step("Slice", "crop", &[x, &starts, &ends, &axes], vec![])
    } else {
        cx.emit("Slice", &[x, &starts, &ends, &axes], vec![]);
        String::new()
    }
}

/// TensorFlow's resize to `size`: `sizes` built from the input's batch and channels (the batch is
/// dynamic) and the target height and width; half-pixel centres; nearest rounds half up.
fn resize(cx: &mut Cx, x: &str, size: [usize; 2], interpolation: Interpolation) {
    let name = cx.name().to_string();
    let shape = cx.step("Shape", "shape", &[x], vec![]);
    let (zero, two) = (
        cx.b.ints(&format!("{name}/nc_start"), vec![0]),
        cx.b.ints(&format!("{name}/nc_end"), vec![2]),
    );
    let nc = cx.step("Slice", "batch_channels", &[&shape, &zero, &two], vec![]);
    let hw = cx.b.ints(
        &format!("{name}/size"),
        vec![size[0] as i64, size[1] as i64],
    );
    let sizes = cx.step("Concat", "sizes", &[&nc, &hw], vec![("axis", A::I(0))]);
    let attrs = match interpolation {
        Interpolation::Nearest => vec![
            ("mode", A::S("nearest")),
            ("coordinate_transformation_mode", A::S("half_pixel")),
            ("nearest_mode", A::S("round_prefer_ceil")),
        ],
        Interpolation::Bilinear => vec![
            ("mode", A::S("linear")),
            ("coordinate_transformation_mode", A::S("half_pixel")),
        ],
    };
    cx.emit("Resize", &[x, "", "", &sizes], attrs);
}
