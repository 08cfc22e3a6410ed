//! Matrix products over the last two axes with the leading (batch) axes broadcast, and `outer`.
//! The two-axis `matmul` is in `tensor.rs`.

use super::rules::BroadcastDim;
use crate::backend::Backend;
use crate::dim::Dim;
use crate::error::Result;
use crate::operand::TensorArg;
use crate::tensor::Tensor;

/// `[a, k, n]` with its batch and column axes named: the hidden condition of [`BatchRhs`].
#[doc(hidden)]
pub trait Rows3<K> {
    /// The batch axis.
    type A: Dim;
    /// The columns.
    type N: Dim;
}
impl<A: Dim, K: Dim, N: Dim> Rows3<K> for (A, K, N) {
    type A = A;
    type N = N;
}

/// `[a, c, k, n]` with its batch and column axes named: the hidden condition of [`BatchRhs2`].
#[doc(hidden)]
pub trait Rows4<K> {
    /// The first batch axis.
    type A: Dim;
    /// The second batch axis.
    type C: Dim;
    /// The columns.
    type N: Dim;
}
impl<A: Dim, C: Dim, K: Dim, N: Dim> Rows4<K> for (A, C, K, N) {
    type A = A;
    type C = C;
    type N = N;
}

/// Implemented by `&Tensor<(A, K, N), B>`: the right operand of a batched product whose left
/// operand has `K` columns (the argument-trait pattern of [`crate::operand`], so a mismatch is
/// one short error at the argument).
///
/// ```
/// use shapeflow_core::{Const, Dyn, Tensor, ops::BatchRhs};
/// use shapeflow_cpu::Cpu;
/// fn rows<R: BatchRhs<Const<4>, Cpu>>(_: R) {}
/// rows(&Tensor::<(Dyn, Const<4>, Const<2>), Cpu>::zeros(&Cpu::default(), &[1, 4, 2]).unwrap());
/// ```
#[diagnostic::on_unimplemented(
    message = "batched matrix product: the left operand has `{K}` columns, the right operand another number of rows",
    label = "its second-to-last axis must equal the left operand's last"
)]
pub trait BatchRhs<K: Dim, B: Backend> {
    /// The right operand's batch axis.
    type A: Dim;
    /// The right operand's columns.
    type N: Dim;
    /// The operand.
    fn operand(&self) -> Tensor<(Self::A, K, Self::N), B>;
}

#[diagnostic::do_not_recommend]
impl<K: Dim, B: Backend, X: ?Sized + TensorArg<B>> BatchRhs<K, B> for &X
where
    X::Shape: Rows3<K>,
{
    type A = <X::Shape as Rows3<K>>::A;
    type N = <X::Shape as Rows3<K>>::N;
    fn operand(&self) -> Tensor<(Self::A, K, Self::N), B> {
        (**self).cast()
    }
}

/// Implemented by `&Tensor<(A, C, K, N), B>`: [`BatchRhs`] with two batch axes.
///
/// ```
/// use shapeflow_core::{Const, Dyn, Tensor, ops::BatchRhs2};
/// use shapeflow_cpu::Cpu;
/// fn rows<R: BatchRhs2<Const<4>, Cpu>>(_: R) {}
/// rows(&Tensor::<(Dyn, Const<2>, Const<4>, Const<2>), Cpu>::zeros(&Cpu::default(), &[1, 2, 4, 2]).unwrap());
/// ```
#[diagnostic::on_unimplemented(
    message = "batched matrix product: the left operand has `{K}` columns, the right operand another number of rows",
    label = "its second-to-last axis must equal the left operand's last"
)]
pub trait BatchRhs2<K: Dim, B: Backend> {
    /// The right operand's first batch axis.
    type A: Dim;
    /// The right operand's second batch axis.
    type C: Dim;
    /// The right operand's columns.
    type N: Dim;
    /// The operand.
    fn operand(&self) -> Tensor<(Self::A, Self::C, K, Self::N), B>;
}

#[diagnostic::do_not_recommend]
impl<K: Dim, B: Backend, X: ?Sized + TensorArg<B>> BatchRhs2<K, B> for &X
where
    X::Shape: Rows4<K>,
{
    type A = <X::Shape as Rows4<K>>::A;
    type C = <X::Shape as Rows4<K>>::C;
    type N = <X::Shape as Rows4<K>>::N;
    fn operand(&self) -> Tensor<(Self::A, Self::C, K, Self::N), B> {
        (**self).cast()
    }
}

impl<A: Dim, M: Dim, K: Dim, B: Backend> Tensor<(A, M, K), B> {
    /// Batched product `[a, m, k] × [a', k, n] → [a, m, n]`, the batch axes broadcast (PyTorch's
    /// `matmul`/`bmm`); the inner sizes must agree at compile time.
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let a = Tensor::<(Dyn, Const<1>, Const<2>), Cpu>::from_vec(&dev, &[2, 1, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    /// let w = Tensor::<(Const<1>, Const<2>, Const<1>), Cpu>::from_vec(&dev, &[1, 2, 1], vec![1.0, 1.0]).unwrap();
    /// assert_eq!(a.matmul(&w).unwrap().to_vec(), vec![3.0, 7.0]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn matmul<R: BatchRhs<K, B>>(
        &self,
        rhs: R,
    ) -> Result<Tensor<(<A as BroadcastDim<R::A>>::Output, M, R::N), B>>
    where
        A: BroadcastDim<R::A>,
    {
        Ok(Tensor::from_var(self.as_var().matmul(&rhs.operand().as_var())?))
    }
}

impl<A: Dim, C: Dim, M: Dim, K: Dim, B: Backend> Tensor<(A, C, M, K), B> {
    /// Batched product over two batch axes (attention's `[batch, heads, m, k]`), broadcast.
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let q = Tensor::<(Dyn, Const<2>, Const<3>, Const<4>), Cpu>::ones(&dev, &[1, 2, 3, 4]).unwrap();
    /// let k = Tensor::<(Dyn, Const<2>, Const<4>, Const<3>), Cpu>::ones(&dev, &[1, 2, 4, 3]).unwrap();
    /// assert_eq!(q.matmul(&k).unwrap().dims(), &[1, 2, 3, 3]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn matmul<R: BatchRhs2<K, B>>(
        &self,
        rhs: R,
    ) -> Result<
        Tensor<(<A as BroadcastDim<R::A>>::Output, <C as BroadcastDim<R::C>>::Output, M, R::N), B>,
    >
    where
        A: BroadcastDim<R::A>,
        C: BroadcastDim<R::C>,
    {
        Ok(Tensor::from_var(self.as_var().matmul(&rhs.operand().as_var())?))
    }
}

impl<N: Dim, B: Backend> Tensor<(N,), B> {
    /// The outer product `[n] ⊗ [m] → [n, m]`.
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let a = Tensor::<(Const<2>,), Cpu>::from_vec(&dev, &[2], vec![1.0, 2.0]).unwrap();
    /// let b = Tensor::<(Const<3>,), Cpu>::from_vec(&dev, &[3], vec![1.0, 10.0, 100.0]).unwrap();
    /// assert_eq!(a.outer(&b).to_vec(), vec![1.0, 10.0, 100.0, 2.0, 20.0, 200.0]);
    /// ```
    pub fn outer<M2: Dim>(&self, other: &Tensor<(M2,), B>) -> Tensor<(N, M2), B> {
        let (n, m) = (self.dims()[0], other.dims()[0]);
        let dims = |a: usize, b: usize| crate::Dims::new(&[a, b]).unwrap_or_default();
        let col = self.as_var().reshape(dims(n, 1));
        let row = other.as_var().reshape(dims(1, m));
        match col.binary(crate::backend::BinaryOp::Mul, &row) {
            Ok(v) => Tensor::from_var(v),
            // [n, 1] · [1, m] always broadcasts
            Err(_) => Tensor::from_var(col.constant(dims(n, m), f64::NAN)),
        }
    }
}
