//! Dimensions: [`Const<N>`] (a size the compiler knows, printed in decimal in every error and
//! type), a typenum unsigned (for hand-written code whose conv/pool/flatten sizes the type system
//! computes), or [`Dyn`] (a size known at run time).

use typenum::{Bit, UInt, UTerm, Unsigned};

/// One dimension of a tensor shape.
///
/// Static dimensions are [`Const<N>`] (what `model!` generates and what errors print as
/// `Const<784>`) or typenum unsigned integers; [`Dyn`] is a dimension whose size is only known at
/// run time, such as the batch.
///
/// ```
/// use shapeflow_core::dim::{Const, Dim, Dyn};
/// assert_eq!(<Const<784> as Dim>::SIZE, Some(784));
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

/// A dimension of `N`, known to the compiler: `Tensor<(Dyn, Const<784>), B>` is a batch of
/// 784-feature rows. Every error and every type shows it in decimal (`Const<784>`), unlike a
/// typenum number, whose type is its binary encoding.
///
/// ```
/// use shapeflow_core::dim::{Const, StaticDim};
/// use shapeflow_core::{Dyn, Shape};
/// assert_eq!(<Const<784> as StaticDim>::N, 784);
/// assert_eq!(<(Dyn, Const<1>, Const<28>, Const<28>)>::describe(), "[batch, 1, 28, 28]");
/// assert_eq!(std::any::type_name::<Const<784>>(), "shapeflow_core::dim::Const<784>");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Const<const N: usize>;

impl<const V: usize> Dim for Const<V> {
    const SIZE: Option<usize> = Some(V);
}

impl<const V: usize> StaticDim for Const<V> {
    const N: usize = V;
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

/// A dimension the compiler knows: [`Const<N>`] or a typenum unsigned, never [`Dyn`]. Layer
/// sizes (`Linear<I, O>`) are static dimensions.
///
/// ```
/// use shapeflow_core::dim::StaticDim;
/// assert_eq!(<typenum::U10 as StaticDim>::N, 10);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a static dimension",
    label = "layer sizes must be known at compile time (`Const<N>`), not `Dyn`"
)]
pub trait StaticDim: Dim {
    /// The size.
    const N: usize;
}

impl StaticDim for UTerm {
    const N: usize = 0;
}

impl<
    U: Unsigned + Default + Copy + Send + Sync + 'static,
    B: Bit + Default + Copy + Send + Sync + 'static,
> StaticDim for UInt<U, B>
{
    const N: usize = <UInt<U, B> as Unsigned>::USIZE;
}
