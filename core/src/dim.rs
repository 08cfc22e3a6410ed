//! Dimensions: a typenum unsigned (a size the compiler knows) or [`Dyn`] (a size known at run time).

use typenum::{Bit, UInt, UTerm, Unsigned};

/// One dimension of a tensor shape.
///
/// Static dimensions are typenum unsigned integers (`typenum::U784`, or `dim!(3136)` for any
/// literal); [`Dyn`] is a dimension whose size is only known at run time, such as the batch.
///
/// ```
/// use shapeflow_core::dim::{Dim, Dyn};
/// assert_eq!(<typenum::U784 as Dim>::SIZE, Some(784));
/// assert_eq!(<Dyn as Dim>::SIZE, None);
/// ```
pub trait Dim: Copy + Default + Send + Sync + 'static {
    /// The size when the compiler knows it, `None` for a runtime dimension.
    const SIZE: Option<usize>;
}

/// A dimension whose size is known only at run time (the batch, by default).
///
/// ```
/// use shapeflow_core::dim::{Dim, Dyn};
/// assert!(<Dyn as Dim>::SIZE.is_none());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Dyn;

impl Dim for Dyn {
    const SIZE: Option<usize> = None;
}

impl Dim for UTerm {
    const SIZE: Option<usize> = Some(0);
}

impl<
    U: Unsigned + Default + Copy + Send + Sync + 'static,
    B: Bit + Default + Copy + Send + Sync + 'static,
> Dim for UInt<U, B>
{
    const SIZE: Option<usize> = Some(<UInt<U, B> as Unsigned>::USIZE);
}

/// Asserts that two dimensions are the same type-level size.
///
/// Implemented only when `Self` and `D` are the same dimension; generic code states the rule as
/// `where A: DimEq<B>` so a failure reads as the sentence it is.
///
/// ```
/// use shapeflow_core::dim::DimEq;
/// fn same<A: DimEq<B>, B>() {}
/// same::<typenum::U3, typenum::U3>();
/// ```
#[diagnostic::on_unimplemented(
    message = "dimension mismatch: `{Self}` is not the same size as `{D}`",
    label = "these dimensions must be equal"
)]
pub trait DimEq<D> {}
impl<D> DimEq<D> for D {}

/// A dimension the compiler knows: every typenum unsigned, never [`Dyn`]. Layer sizes
/// (`Linear<I, O>`) are static dimensions.
///
/// ```
/// use shapeflow_core::dim::StaticDim;
/// assert_eq!(<typenum::U10 as StaticDim>::N, 10);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a static dimension",
    label = "layer sizes must be known at compile time (a typenum number or `dim!(N)`), not `Dyn`"
)]
pub trait StaticDim: Dim {
    /// The size.
    const N: usize;
}

impl<U: Unsigned + Dim> StaticDim for U {
    const N: usize = U::USIZE;
}
