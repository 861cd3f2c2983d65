//! The random-parameter forms of `ImageDataGenerator` (shift ranges, zoom ranges) and the per-image
//! transform they produce, with Keras' drawing rules.

use crate::error::DataError;
use crate::rng::uniform;
use rand::Rng;
use std::fmt;
use std::str::FromStr;

/// A shift range (`width_shift_range` / `height_shift_range`), in the forms Keras accepts.
///
/// Keras tells the forms apart by Python type: a float below 1 is a fraction of the image size, a float of
/// 1 or more is a number of pixels, an int N draws a whole number of pixels from `0..N` with a random sign,
/// and a list draws one of its values with a random sign (as fractions if all are below 1). The enum makes
/// the form explicit; [`From<f64>`] and [`FromStr`] apply Keras' rules.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Shift {
    /// No shift (Keras' 0.0).
    #[default]
    None,
    /// `uniform(-f, f) * size`: Keras' float below 1.
    Fraction(f64),
    /// `uniform(-p, p)` pixels: Keras' float of 1 or more.
    Pixels(f64),
    /// `choice(range(n)) * choice([-1, 1])` pixels: Keras' int.
    Int(u32),
    /// `choice(values) * choice([-1, 1])`, times the size when every value is below 1: Keras' list.
    List(Vec<f64>),
}

impl From<f64> for Shift {
    /// Keras' float rule: 0 is no shift, below 1 a fraction, otherwise pixels.
    fn from(value: f64) -> Self {
        if value == 0.0 {
            Shift::None
        } else if value < 1.0 {
            Shift::Fraction(value)
        } else {
            Shift::Pixels(value)
        }
    }
}

impl From<u32> for Shift {
    /// Keras' int rule (0 is no shift).
    fn from(value: u32) -> Self {
        if value == 0 {
            Shift::None
        } else {
            Shift::Int(value)
        }
    }
}

impl From<Vec<f64>> for Shift {
    /// Keras' list rule (an empty list is no shift).
    fn from(values: Vec<f64>) -> Self {
        if values.is_empty() {
            Shift::None
        } else {
            Shift::List(values)
        }
    }
}

impl FromStr for Shift {
    type Err = DataError;
    /// Python literal syntax: `0.1` (fraction), `20.0` (pixels), `20` (int), `[-5, 0, 5]` or `-5,0,5`
    /// (list).
    fn from_str(s: &str) -> Result<Self, DataError> {
        let s = s.trim();
        let bad = |why: &str| DataError::invalid("shift_range", format!("{s:?}: {why}"));
        if s.starts_with('[') || s.contains(',') {
            let inner = s.trim_start_matches('[').trim_end_matches(']');
            let values = inner
                .split(',')
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(|v| v.parse::<f64>().map_err(|_| bad("not a list of numbers")))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Shift::from(values));
        }
        if let (false, Ok(n)) = (s.contains(['.', 'e', 'E']), s.parse::<u32>()) {
            return Ok(Shift::from(n));
        }
        let v: f64 = s.parse().map_err(|_| bad("not a number"))?;
        if !(v >= 0.0 && v.is_finite()) {
            return Err(bad("must be a finite number >= 0"));
        }
        Ok(Shift::from(v))
    }
}

impl fmt::Display for Shift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shift::None => f.write_str("0.0"),
            Shift::Fraction(v) | Shift::Pixels(v) => write!(f, "{v:?}"),
            Shift::Int(n) => write!(f, "{n}"),
            Shift::List(values) => {
                let parts: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
                write!(f, "[{}]", parts.join(", "))
            }
        }
    }
}

impl Shift {
    /// Draws one shift in pixels for an image dimension of `size` pixels, by Keras' rules.
    pub fn draw<R: Rng>(&self, rng: &mut R, size: usize) -> f64 {
        let sign = |rng: &mut R| if rng.random::<bool>() { 1.0 } else { -1.0 };
        match self {
            Shift::None => 0.0,
            Shift::Fraction(f) => uniform(rng, -f, *f) * size as f64,
            Shift::Pixels(p) => uniform(rng, -p, *p),
            // Keras treats 0 and an empty list as "no shift".
            Shift::Int(0) => 0.0,
            Shift::List(values) if values.is_empty() => 0.0,
            Shift::Int(n) => f64::from(rng.random_range(0..*n)) * sign(rng),
            Shift::List(values) => {
                let v = values[rng.random_range(0..values.len())] * sign(rng);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if max < 1.0 { v * size as f64 } else { v }
            }
        }
    }

    pub(crate) fn validate(&self, name: &'static str) -> Result<(), DataError> {
        let ok = match self {
            Shift::None | Shift::Int(_) => true,
            Shift::Fraction(v) | Shift::Pixels(v) => v.is_finite() && *v >= 0.0,
            Shift::List(values) => !values.is_empty() && values.iter().all(|v| v.is_finite()),
        };
        if ok {
            Ok(())
        } else {
            Err(DataError::invalid(name, format!("{self:?}")))
        }
    }
}

/// A zoom range (`zoom_range`): a float z means `[1 - z, 1 + z]`; a pair is `[lower, upper]`. The two
/// zoom factors (columns, rows) are drawn independently from it; values above 1 zoom out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Zoom {
    /// Smallest factor.
    pub lower: f64,
    /// Largest factor.
    pub upper: f64,
}

impl Default for Zoom {
    /// No zoom: `[1, 1]` (Keras' `zoom_range=0.0`).
    fn default() -> Self {
        Zoom {
            lower: 1.0,
            upper: 1.0,
        }
    }
}

impl From<f64> for Zoom {
    fn from(z: f64) -> Self {
        Zoom {
            lower: 1.0 - z,
            upper: 1.0 + z,
        }
    }
}

impl From<(f64, f64)> for Zoom {
    fn from((lower, upper): (f64, f64)) -> Self {
        Zoom { lower, upper }
    }
}

impl From<[f64; 2]> for Zoom {
    fn from([lower, upper]: [f64; 2]) -> Self {
        Zoom { lower, upper }
    }
}

impl FromStr for Zoom {
    type Err = DataError;
    /// `0.2` or `0.8,1.2` / `[0.8, 1.2]`.
    fn from_str(s: &str) -> Result<Self, DataError> {
        let bad = || DataError::invalid("zoom_range", format!("{s:?}: expected z or lower,upper"));
        let inner = s.trim().trim_start_matches('[').trim_end_matches(']');
        let values: Vec<f64> = inner
            .split(',')
            .map(|v| v.trim().parse::<f64>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        match values[..] {
            [z] => Ok(Zoom::from(z)),
            [lower, upper] => Ok(Zoom { lower, upper }),
            _ => Err(bad()),
        }
    }
}

impl Zoom {
    /// Whether Keras skips the zoom draw (`zoom_range == [1, 1]`).
    pub fn is_none(&self) -> bool {
        self.lower == 1.0 && self.upper == 1.0
    }
}

/// The random parameters of one image: Keras' `get_random_transform` dictionary.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransformParams {
    /// Rotation in degrees.
    pub theta: f64,
    /// Shift along columns in pixels (Keras' `tx` as `apply_affine_transform` uses it).
    pub tx: f64,
    /// Shift along rows in pixels.
    pub ty: f64,
    /// Shear in degrees.
    pub shear: f64,
    /// Zoom along columns.
    pub zx: f64,
    /// Zoom along rows.
    pub zy: f64,
    /// Mirror left-right after the affine resample.
    pub flip_horizontal: bool,
    /// Mirror top-bottom.
    pub flip_vertical: bool,
    /// Value added to every channel (then clipped to the image's range), if any.
    pub channel_shift_intensity: Option<f64>,
    /// PIL brightness factor, if any.
    pub brightness: Option<f64>,
}

impl Default for TransformParams {
    /// The neutral transform.
    fn default() -> Self {
        Self {
            theta: 0.0,
            tx: 0.0,
            ty: 0.0,
            shear: 0.0,
            zx: 1.0,
            zy: 1.0,
            flip_horizontal: false,
            flip_vertical: false,
            channel_shift_intensity: None,
            brightness: None,
        }
    }
}

impl TransformParams {
    /// The affine part.
    pub fn affine(&self) -> crate::affine::AffineParams {
        crate::affine::AffineParams {
            theta: self.theta,
            tx: self.tx,
            ty: self.ty,
            shear: self.shear,
            zx: self.zx,
            zy: self.zy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn draws(shift: &Shift, size: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        (0..4000).map(|_| shift.draw(&mut rng, size)).collect()
    }

    #[test]
    fn float_forms_follow_keras_rules() {
        assert_eq!(Shift::from(0.1), Shift::Fraction(0.1));
        assert_eq!(Shift::from(1.0), Shift::Pixels(1.0));
        assert_eq!(Shift::from(0.0), Shift::None);
        let fraction = draws(&Shift::Fraction(0.1), 200);
        assert!(fraction.iter().all(|v| v.abs() <= 20.0));
        assert!(fraction.iter().any(|v| v.abs() > 15.0), "spans the range");
        assert!(fraction.iter().any(|v| v.fract() != 0.0), "continuous");
        let pixels = draws(&Shift::Pixels(3.0), 200);
        assert!(pixels.iter().all(|v| v.abs() <= 3.0) && pixels.iter().any(|v| v.abs() > 2.5));
    }

    #[test]
    fn int_form_draws_whole_pixels_below_n_with_a_sign() {
        let values = draws(&Shift::Int(3), 500);
        let mut seen: Vec<i64> = values.iter().map(|v| *v as i64).collect();
        assert!(values.iter().all(|v| v.fract() == 0.0));
        seen.sort();
        seen.dedup();
        assert_eq!(seen, [-2, -1, 0, 1, 2]);
    }

    #[test]
    fn list_form_scales_only_fractions() {
        let mut px: Vec<i64> = draws(&Shift::List(vec![2.0, 5.0]), 100)
            .iter()
            .map(|v| *v as i64)
            .collect();
        px.sort();
        px.dedup();
        assert_eq!(px, [-5, -2, 2, 5]);
        let mut frac: Vec<i64> = draws(&Shift::List(vec![0.25, 0.5]), 100)
            .iter()
            .map(|v| *v as i64)
            .collect();
        frac.sort();
        frac.dedup();
        assert_eq!(frac, [-50, -25, 25, 50]);
    }

    #[test]
    fn parsing_uses_python_literal_types() {
        assert_eq!("0.1".parse::<Shift>().unwrap(), Shift::Fraction(0.1));
        assert_eq!("20".parse::<Shift>().unwrap(), Shift::Int(20));
        assert_eq!("20.0".parse::<Shift>().unwrap(), Shift::Pixels(20.0));
        assert_eq!(
            "[-5, 5]".parse::<Shift>().unwrap(),
            Shift::List(vec![-5.0, 5.0])
        );
        assert!("abc".parse::<Shift>().is_err());
        assert_eq!(
            "0.2".parse::<Zoom>().unwrap(),
            Zoom {
                lower: 0.8,
                upper: 1.2
            }
        );
        assert_eq!(
            "0.5,1.5".parse::<Zoom>().unwrap(),
            Zoom {
                lower: 0.5,
                upper: 1.5
            }
        );
    }
}
