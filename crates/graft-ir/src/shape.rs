//! Symbolic tensor shapes: known sizes and unknown ones (the batch, or spatial sizes a model
//! accepts at any value).

use std::fmt;

/// One dimension: `Some(n)` when known, `None` when the model accepts any size there.
pub type Dim = Option<usize>;

/// The shape of a value flowing between layers, batch axis included.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(pub Vec<Dim>);

impl Shape {
    /// A shape from its dimensions.
    pub fn new(dims: Vec<Dim>) -> Self {
        Self(dims)
    }

    /// A shape with an unknown batch axis followed by known sizes.
    pub fn batched(dims: &[usize]) -> Self {
        let mut v = Vec::with_capacity(dims.len() + 1);
        v.push(None);
        v.extend(dims.iter().map(|&d| Some(d)));
        Self(v)
    }

    /// Number of axes, batch included.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// The dimensions.
    pub fn dims(&self) -> &[Dim] {
        &self.0
    }

    /// Dimension `i`; negative indices count from the end.
    pub fn dim(&self, i: i64) -> Option<Dim> {
        let i = normalize_axis(i, self.rank())?;
        Some(self.0[i])
    }

    /// The last axis.
    pub fn last(&self) -> Dim {
        self.0.last().copied().flatten()
    }

    /// The product of the axes after the batch, when all are known.
    pub fn feature_size(&self) -> Option<usize> {
        self.0
            .iter()
            .skip(1)
            .try_fold(1usize, |acc, d| d.map(|d| acc * d))
    }

    /// True when every axis is known.
    pub fn is_fully_known(&self) -> bool {
        self.0.iter().all(Option::is_some)
    }
}

/// Maps a possibly negative axis to `0..rank`, or `None` when out of range.
pub fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

impl fmt::Display for Shape {
    /// Keras' notation: `(None, 224, 224, 3)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match d {
                Some(n) => write!(f, "{n}")?,
                None => f.write_str("None")?,
            }
        }
        if self.0.len() == 1 {
            f.write_str(",")?;
        }
        f.write_str(")")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<Vec<Dim>> for Shape {
    fn from(v: Vec<Dim>) -> Self {
        Self(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_like_keras() {
        assert_eq!(
            Shape::batched(&[224, 224, 3]).to_string(),
            "(None, 224, 224, 3)"
        );
        assert_eq!(Shape::new(vec![None]).to_string(), "(None,)");
    }

    #[test]
    fn axes() {
        assert_eq!(normalize_axis(-1, 4), Some(3));
        assert_eq!(normalize_axis(4, 4), None);
        assert_eq!(normalize_axis(-5, 4), None);
        assert_eq!(Shape::batched(&[2, 3]).feature_size(), Some(6));
    }
}
