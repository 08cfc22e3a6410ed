//! Type-level shape arithmetic, wrapped in small named traits so hand-written generic code is
//! checked by `cargo check`: window output sizes ([`ConvOut`]) and flattening ([`FlattenShape`]).
//! `model!` computes the same numbers at expansion time for its error messages; the generated
//! code goes through these traits too, so the two rules must agree for a model to compile.

use core::ops::{Add, Div, Mul, Sub};

use typenum::{Add1, B1, Diff, Prod, Quot, Sub1, Sum, U2};

use crate::dim::{Dim, StaticDim};
use crate::shape::Shape;

/// `2·P`.
type Twice<P> = Prod<P, U2>;
/// `H + 2·P`.
type Padded<H, P> = Sum<H, Twice<P>>;
/// `D·(K − 1)`.
type Reach<K, D> = Prod<D, Sub1<K>>;
/// `(H + 2P − D(K−1) − 1) / S + 1`.
type WindowOut<H, K, S, P, D> = Add1<Quot<Sub1<Diff<Padded<H, P>, Reach<K, D>>>, S>>;

/// The size of a convolution or pooling output along one dimension of size `Self`, for kernel
/// `K`, stride `S`, padding `P` and dilation `D`: `(H + 2P − D·(K−1) − 1) / S + 1`, as PyTorch.
/// Not implemented when the (dilated) kernel is larger than the padded input.
///
/// ```
/// use shapeflow_core::dim_arith::ConvOut;
/// use shapeflow_core::Dim;
/// use typenum::{U0, U1, U2, U5, U28, U14};
/// type Out = <U28 as ConvOut<U5, U1, U2, U1>>::Output;  // 28 + 4 − 4 = 28
/// assert_eq!(<Out as Dim>::SIZE, Some(28));
/// type Pooled = <U28 as ConvOut<U2, U2, U0, U1>>::Output;
/// assert_eq!(<Pooled as Dim>::SIZE, Some(14));
/// ```
#[diagnostic::on_unimplemented(
    message = "no type-level output size for a window of `{K}` (stride `{S}`, padding `{P}`, dilation `{D}`) over `{Self}`",
    label = "the kernel is larger than the padded input, or the sizes are `Const`",
    note = "with `Const` sizes, state the output shape: `let y: Tensor<(Dyn, …), B> = layer.forward_to(&x);` (or declare the layer in `model!`)"
)]
pub trait ConvOut<K, S, P, D>: StaticDim {
    /// The output size.
    type Output: StaticDim;
}

impl<H, K, S, P, D> ConvOut<K, S, P, D> for H
where
    H: StaticDim + Add<Twice<P>>,
    P: Mul<U2>,
    K: Sub<B1>,
    D: Mul<Sub1<K>>,
    Padded<H, P>: Sub<Reach<K, D>>,
    Diff<Padded<H, P>, Reach<K, D>>: Sub<B1>,
    Sub1<Diff<Padded<H, P>, Reach<K, D>>>: Div<S>,
    Quot<Sub1<Diff<Padded<H, P>, Reach<K, D>>>, S>: Add<B1>,
    WindowOut<H, K, S, P, D>: StaticDim,
{
    type Output = WindowOut<H, K, S, P, D>;
}

/// Flattening every dimension after the batch: `(N, A, B, C) → (N, A·B·C)`.
///
/// ```
/// use shapeflow_core::dim_arith::FlattenShape;
/// use shapeflow_core::{Dyn, Shape};
/// use typenum::{U16, U5};
/// assert_eq!(<<(Dyn, U16, U5, U5) as FlattenShape>::Output as Shape>::describe(), "[batch, 400]");
/// ```
pub trait FlattenShape: Shape {
    /// The flat shape.
    type Output: Shape;
}

impl<N: Dim, A: Dim> FlattenShape for (N, A) {
    type Output = (N, A);
}

impl<N: Dim, A: Dim + Mul<B>, B: Dim> FlattenShape for (N, A, B)
where
    Prod<A, B>: Dim,
{
    type Output = (N, Prod<A, B>);
}

impl<N: Dim, A: Dim + Mul<B>, B: Dim, C: Dim> FlattenShape for (N, A, B, C)
where
    Prod<A, B>: Mul<C>,
    Prod<Prod<A, B>, C>: Dim,
{
    type Output = (N, Prod<Prod<A, B>, C>);
}

impl<N: Dim, A: Dim + Mul<B>, B: Dim, C: Dim, E: Dim> FlattenShape for (N, A, B, C, E)
where
    Prod<A, B>: Mul<C>,
    Prod<Prod<A, B>, C>: Mul<E>,
    Prod<Prod<Prod<A, B>, C>, E>: Dim,
{
    type Output = (N, Prod<Prod<Prod<A, B>, C>, E>);
}
