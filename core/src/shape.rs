//! Shapes: tuples of dimensions, rank 0 to 6, with their runtime sizes ([`Dims`]).

use crate::dim::Dim;
use crate::error::{Error, Result};

/// The largest rank a tensor may have.
pub const MAX_RANK: usize = 6;

/// Runtime sizes of a tensor: a fixed array, so tensors carry their sizes without allocating.
///
/// ```
/// use shapeflow_core::shape::Dims;
/// let d = Dims::new(&[2, 3]).unwrap();
/// assert_eq!(d.as_slice(), &[2, 3]);
/// assert_eq!(d.numel(), 6);
/// assert!(Dims::new(&[1 << 63, 2]).is_err()); // the element count would overflow
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Dims {
    sizes: [usize; MAX_RANK],
    rank: usize,
}

impl Dims {
    /// Sizes from a slice; an `Err` when the rank is above [`MAX_RANK`].
    pub fn new(sizes: &[usize]) -> Result<Self> {
        if sizes.len() > MAX_RANK {
            return Err(Error::Shape(format!(
                "rank {} is above the maximum rank {MAX_RANK}",
                sizes.len()
            )));
        }
        if sizes.iter().try_fold(1usize, |n, &s| n.checked_mul(s)).is_none() {
            return Err(Error::Shape(format!(
                "sizes {sizes:?} hold more elements than a usize can count"
            )));
        }
        let mut d = Dims { sizes: [0; MAX_RANK], rank: sizes.len() };
        d.sizes[..sizes.len()].copy_from_slice(sizes);
        Ok(d)
    }
    /// The sizes, outermost first.
    ///
    /// ```
    /// let d = shapeflow_core::Dims::new(&[4, 3, 2]).unwrap();
    /// assert_eq!((d.as_slice(), d.rank(), d.numel(), d.first()), (&[4usize, 3, 2][..], 3, 24, 4));
    /// ```
    pub fn as_slice(&self) -> &[usize] {
        &self.sizes[..self.rank]
    }
    /// The rank (number of dimensions).
    pub fn rank(&self) -> usize {
        self.rank
    }
    /// Number of elements (1 for rank 0).
    pub fn numel(&self) -> usize {
        self.as_slice().iter().product()
    }
    /// Size of the first dimension (the batch), 1 for rank 0.
    pub fn first(&self) -> usize {
        self.as_slice().first().copied().unwrap_or(1)
    }
}

impl std::fmt::Debug for Dims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_slice())
    }
}

impl std::fmt::Display for Dims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_slice())
    }
}

/// A tensor shape: a tuple of [`Dim`]s, checked by the compiler, with runtime sizes where `Dyn`.
///
/// ```
/// use shapeflow_core::{Dyn, Shape};
/// use typenum::U784;
/// assert_eq!(<(Dyn, U784)>::describe(), "[batch, 784]");
/// assert!(<(Dyn, U784)>::dims_for_batch(32).is_ok());
/// assert!(<(Dyn, U784)>::check(&[32, 783]).is_err());
/// ```
pub trait Shape: Copy + Default + Send + Sync + 'static {
    /// Number of dimensions.
    const RANK: usize;
    /// Each dimension's size when static, `None` when `Dyn`.
    const STATIC: &'static [Option<usize>];

    /// Checks runtime sizes against the static ones.
    fn check(sizes: &[usize]) -> Result<Dims> {
        if sizes.len() != Self::RANK {
            return Err(Error::Shape(format!(
                "expected a rank-{} tensor of shape {}, got sizes {:?}",
                Self::RANK,
                Self::describe(),
                sizes
            )));
        }
        for (i, (s, want)) in sizes.iter().zip(Self::STATIC).enumerate() {
            if let Some(w) = want
                && w != s
            {
                return Err(Error::Shape(format!(
                    "dimension {i} of shape {} must be {w}, got sizes {:?}",
                    Self::describe(),
                    sizes
                )));
            }
        }
        Dims::new(sizes)
    }

    /// Runtime sizes with every `Dyn` dimension set to `batch`.
    fn dims_for_batch(batch: usize) -> Result<Dims> {
        let sizes: Vec<usize> = Self::STATIC.iter().map(|d| d.unwrap_or(batch)).collect();
        Dims::new(&sizes)
    }

    /// Number of elements per sample: the product of the static dimensions.
    fn static_numel() -> usize {
        Self::STATIC.iter().map(|d| d.unwrap_or(1)).product()
    }

    /// The shape in decimal, the first `Dyn` dimension written `batch` and a second one (a
    /// sequence's steps) `seq`: `[batch, 1, 28, 28]`, `[batch, seq, 12]`.
    fn describe() -> String {
        let parts: Vec<String> = Self::STATIC
            .iter()
            .enumerate()
            .map(|(i, d)| match (d, i) {
                (Some(n), _) => n.to_string(),
                (None, 1) if Self::STATIC[0].is_none() => "seq".to_string(),
                (None, _) => "batch".to_string(),
            })
            .collect();
        format!("[{}]", parts.join(", "))
    }
}

impl Shape for () {
    const RANK: usize = 0;
    const STATIC: &'static [Option<usize>] = &[];
}

macro_rules! tuple_shape {
    ($rank:expr; $($d:ident),+) => {
        impl<$($d: Dim),+> Shape for ($($d,)+) {
            const RANK: usize = $rank;
            const STATIC: &'static [Option<usize>] = &[$($d::SIZE),+];
        }
    };
}
tuple_shape!(1; A);
tuple_shape!(2; A, B);
tuple_shape!(3; A, B, C);
tuple_shape!(4; A, B, C, D);
tuple_shape!(5; A, B, C, D, E);
tuple_shape!(6; A, B, C, D, E, F);
