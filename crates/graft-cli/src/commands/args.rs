//! Options and parsers several commands share.

use graft::data::{AugmentOptions, FillMode, Shift, Zoom};

/// ImageDataGenerator's random augmentations, with Keras' names (`graft augment` previews them,
/// `graft finetune` trains with them).
#[derive(clap::Args, Clone, Debug)]
pub struct Augmentation {
    /// Random rotations, in degrees (rotation_range).
    #[arg(long, default_value_t = 0.0)]
    pub rotation_range: f64,

    /// Horizontal shifts: a fraction of the width (<1), a number of pixels (>=1), or a list of
    /// pixel shifts "-8,0,8" (width_shift_range).
    #[arg(long, default_value = "0")]
    pub width_shift_range: Shift,

    /// Vertical shifts, as --width-shift-range (height_shift_range).
    #[arg(long, default_value = "0")]
    pub height_shift_range: Shift,

    /// Shear angle in degrees, counter-clockwise (shear_range).
    #[arg(long, default_value_t = 0.0)]
    pub shear_range: f64,

    /// Zoom: a float z for [1-z, 1+z], or "lo,hi" (zoom_range).
    #[arg(long, default_value = "0")]
    pub zoom_range: Zoom,

    /// Random channel shifts (channel_shift_range).
    #[arg(long, default_value_t = 0.0)]
    pub channel_shift_range: f64,

    /// Brightness factor range "lo,hi" (brightness_range).
    #[arg(long, value_parser = parse_pair)]
    pub brightness_range: Option<(f64, f64)>,

    /// Points outside the image: nearest, reflect, wrap or constant (fill_mode).
    #[arg(long, default_value = "nearest")]
    pub fill_mode: FillMode,

    /// Value of the points outside the image with --fill-mode constant (cval).
    #[arg(long, default_value_t = 0.0)]
    pub cval: f64,

    /// Random left-right flips (horizontal_flip).
    #[arg(long)]
    pub horizontal_flip: bool,

    /// Random top-bottom flips (vertical_flip).
    #[arg(long)]
    pub vertical_flip: bool,
}

impl Default for Augmentation {
    /// No augmentation (ImageDataGenerator's defaults).
    fn default() -> Self {
        Augmentation {
            rotation_range: 0.0,
            width_shift_range: Shift::None,
            height_shift_range: Shift::None,
            shear_range: 0.0,
            zoom_range: Zoom::from(0.0),
            channel_shift_range: 0.0,
            brightness_range: None,
            fill_mode: FillMode::default(),
            cval: 0.0,
            horizontal_flip: false,
            vertical_flip: false,
        }
    }
}

impl Augmentation {
    /// graft-data's augmentation options with these random transforms, everything else at its
    /// default: `.generator()` builds the ImageDataGenerator, `graft augment` fills in the rest.
    pub fn to_options(&self) -> AugmentOptions {
        AugmentOptions {
            rotation_range: self.rotation_range,
            width_shift_range: self.width_shift_range.clone(),
            height_shift_range: self.height_shift_range.clone(),
            shear_range: self.shear_range,
            zoom_range: self.zoom_range,
            channel_shift_range: self.channel_shift_range,
            brightness_range: self.brightness_range,
            fill_mode: self.fill_mode,
            cval: self.cval,
            horizontal_flip: self.horizontal_flip,
            vertical_flip: self.vertical_flip,
            ..AugmentOptions::default()
        }
    }
}

/// `"lo,hi"`.
pub fn parse_pair(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| format!("expected \"lo,hi\", got \"{s}\""))?;
    let num = |v: &str| v.trim().parse::<f64>().map_err(|e| format!("\"{v}\": {e}"));
    Ok((num(a)?, num(b)?))
}

/// `"HEIGHT,WIDTH"`, both positive.
pub fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (h, w) = s
        .split_once(',')
        .ok_or_else(|| format!("expected \"HEIGHT,WIDTH\", got \"{s}\""))?;
    let num = |v: &str| match v.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("\"{v}\" is not a positive size")),
    };
    Ok((num(h)?, num(w)?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("224, 160"), Ok((224, 160)));
        assert!(super::parse_size("224").is_err());
        assert!(super::parse_size("0,3").is_err());
    }
}
