//! The op set's compile-time shape rules, as traits on shape tuples. Each is implemented by
//! impls generated in `build.rs` (one per rank, axis or permutation) and marked
//! `#[diagnostic::do_not_recommend]`, so a shape that does not fit is one short error in
//! decimal, headed by the rule's own sentence.

use crate::dim::{Const, Dim, Dyn};
use crate::shape::Shape;

/// A dimension that is known not to be 1: [`Dyn`] (checked at run time), `Const<0>` and
/// `Const<2>` to `Const<4096>`. It lets `[1]` broadcast against `[N]` at compile time.
///
/// ```
/// use shapeflow_core::{Const, ops::rules::NotOne};
/// fn not_one<D: NotOne>() {}
/// not_one::<Const<8>>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is 1 or above 4096, where broadcasting is decided at compile time",
    note = "a size above 4096 broadcasts only against the same size or `Const<1>` written on the other side"
)]
pub trait NotOne: Dim {}
impl NotOne for Dyn {}
include!(concat!(env!("OUT_DIR"), "/not_one.rs"));

/// PyTorch's broadcasting of one dimension against another: equal sizes, or a 1 on either side,
/// or `Dyn` against a size (checked at run time).
///
/// ```
/// use shapeflow_core::{Const, Dyn, ops::rules::BroadcastDim};
/// type Out = <Const<1> as BroadcastDim<Const<8>>>::Output;
/// assert_eq!(<Out as shapeflow_core::Dim>::SIZE, Some(8));
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot broadcast a dimension `{Self}` with `{D}`",
    label = "sizes must be equal or one of them 1"
)]
pub trait BroadcastDim<D: Dim>: Dim {
    /// The broadcast size.
    type Output: Dim;
}
impl<D: Dim> BroadcastDim<D> for D {
    type Output = D;
}
impl<X: NotOne> BroadcastDim<X> for Const<1> {
    type Output = X;
}
impl<X: NotOne> BroadcastDim<Const<1>> for X {
    type Output = X;
}
impl<const N: usize> BroadcastDim<Const<N>> for Dyn
where
    Const<N>: NotOne,
{
    type Output = Const<N>;
}
impl<const N: usize> BroadcastDim<Dyn> for Const<N>
where
    Const<N>: NotOne,
{
    type Output = Const<N>;
}

/// PyTorch's broadcasting of two shapes: aligned from the right, each pair of dimensions
/// broadcast by [`BroadcastDim`], missing leading axes taken from the longer shape.
///
/// ```
/// use shapeflow_core::{Const, Dyn, Shape, ops::rules::BroadcastShape};
/// type Out = <(Dyn, Const<32>, Const<8>) as BroadcastShape<(Const<8>,)>>::Output;
/// assert_eq!(Out::describe(), "[batch, 32, 8]");
/// ```
#[diagnostic::on_unimplemented(
    message = "shapes `{Self}` and `{T}` do not broadcast",
    label = "aligned from the right, each pair of sizes must be equal or one of them 1",
    note = "a `Dyn` size broadcasts with any size and is checked at run time; `broadcast_to` states a result the compiler cannot work out"
)]
pub trait BroadcastShape<T: Shape>: Shape {
    /// The broadcast shape.
    type Output: Shape;
}
include!(concat!(env!("OUT_DIR"), "/broadcast_shapes.rs"));

/// Axis `AX` of a shape: its dimension, and the shape without it, with it kept as 1, or with it
/// replaced. The bound of every op along an axis (`sum::<AX>`, `narrow::<AX, _>`, `cat::<AX>`…).
///
/// ```
/// use shapeflow_core::{Const, Dyn, Shape, ops::rules::Axis};
/// type S = (Dyn, Const<32>, Const<8>);
/// assert_eq!(<S as Axis<1>>::Removed::describe(), "[batch, 8]");
/// assert_eq!(<S as Axis<1>>::Kept::describe(), "[batch, 1, 8]");
/// ```
#[diagnostic::on_unimplemented(
    message = "a tensor of shape `{Self}` has no axis {AX}",
    label = "axis {AX} is out of range for this shape",
    note = "axes count from 0, outermost first"
)]
pub trait Axis<const AX: usize>: Shape {
    /// The axis's dimension.
    type Dim: Dim;
    /// The shape without the axis.
    type Removed: Shape;
    /// The shape with the axis's size set to 1 (`keepdim`).
    type Kept: Shape;
    /// The shape with the axis's dimension replaced by `N`.
    type Replaced<N: Dim>: Shape;
}

/// A new axis before position `AX` (`AX` equal to the rank appends one).
///
/// ```
/// use shapeflow_core::{Const, Dyn, Shape, ops::rules::InsertAxis};
/// type S = <(Dyn, Const<8>) as InsertAxis<1>>::Inserted<Const<1>>;
/// assert_eq!(S::describe(), "[batch, 1, 8]");
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot insert an axis at position {AX} into a tensor of shape `{Self}`",
    label = "position {AX} is past the end of this shape",
    note = "a new axis goes at a position from 0 to the rank (at most 5: tensors have rank 6 at most)"
)]
pub trait InsertAxis<const AX: usize>: Shape {
    /// The shape with the new axis `N`.
    type Inserted<N: Dim>: Shape;
}
/// Axis `AX` has size 1 (`Const<1>`, or `Dyn`, checked at run time): the rule of
/// [`crate::Tensor::squeeze`].
///
/// ```
/// use shapeflow_core::{Const, Dyn, ops::rules::SqueezeAxis};
/// fn squeezable<S: SqueezeAxis<1>>() {}
/// squeezable::<(Dyn, Const<1>, Const<8>)>();
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot squeeze axis {AX} of a tensor of shape `{Self}`",
    label = "axis {AX} must have size 1 (`Const<1>`, or `Dyn`, checked at run time)"
)]
pub trait SqueezeAxis<const AX: usize>: Shape {
    /// The shape without the axis.
    type Squeezed: Shape;
}

/// `Self` and `T` agree on every axis but `AX`: the rule of joining along `AX`
/// ([`crate::Tensor::cat`]).
///
/// ```
/// use shapeflow_core::{Const, Dyn, ops::rules::CatAxis};
/// fn joinable<S: CatAxis<1, T>, T>() {}
/// joinable::<(Dyn, Const<2>, Const<8>), (Dyn, Const<5>, Const<8>)>();
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot join `{Self}` and `{T}` along axis {AX}",
    label = "every axis but {AX} must have the same size on both sides"
)]
pub trait CatAxis<const AX: usize, T>: Shape {
    /// The joined shape, the axis's dimension stated as `D`.
    type Joined<D: Dim>: Shape;
}
include!(concat!(env!("OUT_DIR"), "/axis_impls.rs"));

/// A permutation of 2 axes for [`crate::Tensor::permute`]: `Axes2<1, 0>`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Axes2<const A: usize, const B: usize>;
/// A permutation of 3 axes: `Axes3<0, 2, 1>` moves axis 2 to position 1.
#[derive(Clone, Copy, Debug, Default)]
pub struct Axes3<const A: usize, const B: usize, const C: usize>;
/// A permutation of 4 axes: `Axes4<0, 2, 3, 1>` takes NCHW to NHWC.
#[derive(Clone, Copy, Debug, Default)]
pub struct Axes4<const A: usize, const B: usize, const C: usize, const D: usize>;
/// A permutation of 5 axes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Axes5<const A: usize, const B: usize, const C: usize, const D: usize, const E: usize>;
/// A permutation of 6 axes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Axes6<
    const A: usize,
    const B: usize,
    const C: usize,
    const D: usize,
    const E: usize,
    const F: usize,
>;

/// A shape reordered by the permutation `P`: output axis `i` is input axis `P[i]`, as
/// `torch.permute`.
///
/// ```
/// use shapeflow_core::{Const, Dyn, Shape, ops::rules::{Axes3, PermuteAxes}};
/// type S = <(Dyn, Const<3>, Const<8>) as PermuteAxes<Axes3<0, 2, 1>>>::Output;
/// assert_eq!(S::describe(), "[batch, 8, 3]");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{P}` is not a permutation of the axes of a tensor of shape `{Self}`",
    label = "name each axis once, as many axes as the tensor has",
    note = "e.g. `permute::<Axes3<0, 2, 1>>()` swaps the last two axes of a rank-3 tensor"
)]
pub trait PermuteAxes<P>: Shape {
    /// The permuted shape.
    type Output: Shape;
    /// Output axis `i` is input axis `PERM[i]`.
    const PERM: &'static [usize];
}

/// A shape with axes `A` and `B` swapped (`transpose::<A, B>`).
///
/// ```
/// use shapeflow_core::{Const, Dyn, Shape, ops::rules::SwapAxes};
/// type S = <(Dyn, Const<3>, Const<8>) as SwapAxes<1, 2>>::Output;
/// assert_eq!(S::describe(), "[batch, 8, 3]");
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot swap axes {A} and {B} of a tensor of shape `{Self}`",
    label = "both axes must be below the rank (and the rank at least 2)"
)]
pub trait SwapAxes<const A: usize, const B: usize>: Shape {
    /// The shape with the two axes swapped.
    type Output: Shape;
    /// Output axis `i` is input axis `PERM[i]`.
    const PERM: &'static [usize];
}
include!(concat!(env!("OUT_DIR"), "/permute_impls.rs"));

/// Compile-time (build-time) check that two shapes of static sizes hold the same number of
/// elements: the guard of [`crate::Tensor::view`]. Shapes with a `Dyn` size are checked at run
/// time instead.
pub(crate) struct SameNumel<S, T>(std::marker::PhantomData<(S, T)>);

impl<S: Shape, T: Shape> SameNumel<S, T> {
    pub(crate) const OK: () = {
        let (a, a_dyn) = static_numel(S::STATIC);
        let (b, b_dyn) = static_numel(T::STATIC);
        if !a_dyn && !b_dyn && a != b {
            // "view [2, 3] (6 elements) as [7] (7 elements): the element counts differ"
            let mut m = Msg::new();
            m = m.text("view ").shape(S::STATIC).text(" (").num(a).text(" elements) as ");
            m = m.shape(T::STATIC).text(" (").num(b).text(" elements): the element counts differ");
            m.fail();
        }
    };
}

/// Build-time check that a joined axis's stated size `D` is the sum of the two parts' sizes
/// along `AX`, when all three are static: the guard of [`crate::Tensor::cat`].
pub(crate) struct CatSizes<S, T, D, const AX: usize>(std::marker::PhantomData<(S, T, D)>);

impl<S: Shape, T: Shape, D: Dim, const AX: usize> CatSizes<S, T, D, AX> {
    pub(crate) const OK: () = {
        if let (Some(a), Some(b), Some(d)) =
            (size_at(S::STATIC, AX), size_at(T::STATIC, AX), D::SIZE)
            && a + b != d
        {
            // "cat along axis 1: 2 + 3 entries make 5, not the stated 4"
            let mut m = Msg::new();
            m = m.text("cat along axis ").num(AX).text(": ").num(a).text(" + ").num(b);
            m = m.text(" entries make ").num(a + b).text(", not the stated ").num(d);
            m.fail();
        }
    };
}

/// A message built at compile time, in decimal, for a build-time check that fails.
struct Msg {
    buf: [u8; 200],
    len: usize,
}

impl Msg {
    const fn new() -> Self {
        Msg { buf: [0; 200], len: 0 }
    }
    const fn byte(mut self, b: u8) -> Self {
        if self.len < self.buf.len() {
            self.buf[self.len] = b;
            self.len += 1;
        }
        self
    }
    const fn text(mut self, s: &str) -> Self {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            self = self.byte(bytes[i]);
            i += 1;
        }
        self
    }
    const fn num(mut self, n: usize) -> Self {
        let mut digits = [0u8; 20];
        let (mut k, mut v) = (0, n);
        loop {
            digits[k] = b'0' + (v % 10) as u8;
            k += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        while k > 0 {
            k -= 1;
            self = self.byte(digits[k]);
        }
        self
    }
    const fn shape(mut self, dims: &[Option<usize>]) -> Self {
        self = self.byte(b'[');
        let mut i = 0;
        while i < dims.len() {
            if i > 0 {
                self = self.text(", ");
            }
            self = match dims[i] {
                Some(n) => self.num(n),
                None => self.text("batch"),
            };
            i += 1;
        }
        self.byte(b']')
    }
    #[track_caller]
    #[allow(clippy::unnecessary_literal_unwrap)] // `Option::expect` is how a const fn panics with a computed message
    const fn fail(&self) {
        let (text, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(text) {
            Ok(m) => None::<()>.expect(m),
            Err(_) => panic!("a shape check failed"),
        };
    }
}

/// The static size of axis `ax`, `None` when it is `Dyn` or past the rank.
const fn size_at(dims: &[Option<usize>], ax: usize) -> Option<usize> {
    if ax < dims.len() { dims[ax] } else { None }
}

/// The product of the static sizes, and whether any size is `Dyn`.
pub(crate) const fn static_numel(dims: &[Option<usize>]) -> (usize, bool) {
    let (mut n, mut any_dyn, mut i) = (1usize, false, 0);
    while i < dims.len() {
        match dims[i] {
            Some(d) => n = n.saturating_mul(d),
            None => any_dyn = true,
        }
        i += 1;
    }
    (n, any_dyn)
}
