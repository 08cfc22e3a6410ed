//! Shape rules checked on a borrowed argument: `a.add(&b)`, `a.matmul(&b)`, `mse_loss(&p, &t)`,
//! `cross_entropy(&y, &labels)`, `opt.step(&mut m, &grads)` and a model's `forward(&x)`.
//!
//! Each rule is a trait implemented for *references* (`&Tensor<S, B>`) by one blanket impl
//! marked `#[diagnostic::do_not_recommend]`, whose condition is a second, hidden trait; the
//! function takes the argument by value as `R: Rule`, so the bound is on the argument's own
//! type (callers still write `&b`). When the rule fails, rustc reports the rule itself, with our
//! message, at the argument, in about ten lines: a reference has no definition to quote, and a
//! blanket impl is not offered as "but it is implemented for …". A bound on the tensor's shape
//! parameter instead costs rustc's "required by a bound introduced by this call" label, and a
//! plain parameter type an E0308 with a quote of the method's definition.

use crate::backend::Backend;
use crate::dim::Dim;

/// `Self` is `T` (the identity), with the borrow conversions; the hidden condition of the
/// argument traits. Not meant to be named in user code.
///
/// ```
/// use shapeflow_core::operand::Is;
/// fn id<T, X: Is<T>>(x: &X) -> &T { x.is() }
/// assert_eq!(*id::<u8, u8>(&3), 3);
/// ```
#[doc(hidden)]
pub trait Is<T: ?Sized> {
    /// `self` as a `&T`.
    fn is(&self) -> &T;
    /// `self` as a `&mut T`.
    fn is_mut(&mut self) -> &mut T;
}

impl<T: ?Sized> Is<T> for T {
    fn is(&self) -> &T {
        self
    }
    fn is_mut(&mut self) -> &mut T {
        self
    }
}

/// Implemented by `&T`: the second operand of an elementwise op or of a loss whose first
/// operand is a `T` (`add`, `sub`, `mul`, `mse_loss`, `bce_with_logits`).
///
/// ```
/// use shapeflow_core::operand::SameShapeAs;
/// use shapeflow_core::{Const, Dyn, Tensor};
/// use shapeflow_cpu::Cpu;
/// type T = Tensor<(Dyn, Const<3>), Cpu>;
/// fn second<R: SameShapeAs<T>>(r: R) -> usize { r.operand().len() }
/// assert_eq!(second(&T::zeros(&Cpu::default(), &[2, 3]).unwrap()), 6);
/// ```
#[diagnostic::on_unimplemented(
    message = "shape mismatch: expected a `&{T}`",
    label = "this tensor has another shape"
)]
pub trait SameShapeAs<T> {
    /// The operand, as a `&T`.
    fn operand(&self) -> &T;
}

#[diagnostic::do_not_recommend]
impl<T, X: ?Sized + Is<T>> SameShapeAs<T> for &X {
    fn operand(&self) -> &T {
        (**self).is()
    }
}

/// A `K × N` matrix on backend `B`: its sizes and buffer. Implemented by
/// `Tensor<(K, N), B>` (in `tensor.rs`); the hidden condition of [`MatmulRhs`], so this module
/// needs no tensor type.
#[doc(hidden)]
pub trait Matrix<K: Dim, N: Dim, B: Backend> {
    /// The sizes, `[k, n]`.
    fn sizes(&self) -> &[usize];
    /// The row-major buffer.
    fn buffer(&self) -> &B::Storage;
    /// The matrix as a tensor (sharing the buffer, keeping its autograd node).
    fn to_tensor(&self) -> crate::Tensor<(K, N), B>;
}

/// Implemented by `&Tensor<(K, N), B>`: the right operand of a matrix with `K` columns.
///
/// ```
/// use shapeflow_core::operand::{Matrix, MatmulRhs};
/// use shapeflow_core::{Const, Tensor};
/// use shapeflow_cpu::Cpu;
/// fn cols<R: MatmulRhs<Const<3>, Const<2>, Cpu>>(r: R) -> usize { r.rhs().sizes()[1] }
/// assert_eq!(cols(&Tensor::<(Const<3>, Const<2>), Cpu>::zeros(&Cpu::default(), &[3, 2]).unwrap()), 2);
/// ```
#[diagnostic::on_unimplemented(
    message = "matrix product: the left operand has `{K}` columns, the right operand another number of rows",
    label = "its rows must equal the left operand's columns"
)]
pub trait MatmulRhs<K: Dim, N: Dim, B: Backend> {
    /// The operand's matrix type.
    type Rhs: ?Sized + Matrix<K, N, B>;
    /// The operand, as its matrix.
    fn rhs(&self) -> &Self::Rhs;
}

#[diagnostic::do_not_recommend]
impl<K: Dim, N: Dim, B: Backend, X: ?Sized + Matrix<K, N, B>> MatmulRhs<K, N, B> for &X {
    type Rhs = X;
    fn rhs(&self) -> &X {
        self
    }
}

/// A tensor passed as an argument, with its shape as an associated type: the hidden condition
/// of argument traits whose rule relates two shapes ([`crate::ops::BatchRhs`],
/// [`crate::ops::CatWith`]). Not meant to be named in user code.
///
/// ```
/// use shapeflow_core::operand::TensorArg;
/// use shapeflow_core::{Const, Shape, Tensor};
/// use shapeflow_cpu::Cpu;
/// fn describe<X: TensorArg<Cpu>>(_: &X) -> String { X::Shape::describe() }
/// assert_eq!(describe(&Tensor::<(Const<2>,), Cpu>::zeros(&Cpu::default(), &[2]).unwrap()), "[2]");
/// ```
#[doc(hidden)]
pub trait TensorArg<B: Backend> {
    /// The tensor's shape.
    type Shape: crate::Shape;
    /// The tensor under shape `T`, which the caller's trait bounds prove equal to `Shape`.
    fn cast<T: crate::Shape>(&self) -> crate::Tensor<T, B>;
}

impl<S: crate::Shape, B: Backend> TensorArg<B> for crate::Tensor<S, B> {
    type Shape = S;
    fn cast<T: crate::Shape>(&self) -> crate::Tensor<T, B> {
        self.clone().__assume_shape()
    }
}
