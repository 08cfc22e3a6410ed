//! Typed arithmetic on tensors: `add`, `sub`, `mul` (equal shapes) and `matmul` (inner
//! dimensions agree), their arguments taken through the operand traits of [`crate::operand`]
//! so a wrong shape is one short error at the argument.

use num_traits::One;

use crate::backend::{Backend, Gemm};
use crate::dim::Dim;
use crate::error::{Error, Result};
use crate::operand::{MatmulRhs, SameShapeAs};
use crate::shape::{Dims, Shape};
use crate::tensor::Tensor;

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// Elementwise sum of two tensors of the same shape.
    ///
    /// ```
    /// use shapeflow_core::Tensor;
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let a = Tensor::<(typenum::U2,), Cpu>::ones(&dev, &[2]).unwrap();
    /// assert_eq!(a.add(&a).unwrap().to_vec(), vec![2.0, 2.0]);
    /// ```
    pub fn add<R: SameShapeAs<Self>>(&self, other: R) -> Result<Tensor<S, B>> {
        let other = other.operand();
        self.check_same_dims(other, "add")?;
        let mut out = self.clone();
        B::axpy(B::Elem::one(), other.storage(), out.storage_mut());
        Ok(out)
    }

    /// Elementwise difference of two tensors of the same shape.
    ///
    /// ```
    /// use shapeflow_core::Tensor;
    /// use shapeflow_cpu::Cpu;
    /// let a = Tensor::<(typenum::U2,), Cpu>::from_vec(&Cpu::default(), &[2], vec![3.0, 4.0]).unwrap();
    /// assert_eq!(a.sub(&a).unwrap().to_vec(), vec![0.0, 0.0]);
    /// assert_eq!(a.mul(&a).unwrap().to_vec(), vec![9.0, 16.0]);
    /// assert_eq!(a.scaled(0.5).to_vec(), vec![1.5, 2.0]);
    /// assert_eq!(a.sum(), 7.0);
    /// ```
    pub fn sub<R: SameShapeAs<Self>>(&self, other: R) -> Result<Tensor<S, B>> {
        let other = other.operand();
        self.check_same_dims(other, "sub")?;
        let mut out = self.zeros_like();
        B::sub(self.storage(), other.storage(), out.storage_mut());
        Ok(out)
    }

    /// Elementwise product of two tensors of the same shape.
    pub fn mul<R: SameShapeAs<Self>>(&self, other: R) -> Result<Tensor<S, B>> {
        let other = other.operand();
        self.check_same_dims(other, "mul")?;
        let mut out = self.zeros_like();
        B::mul(self.storage(), other.storage(), out.storage_mut());
        Ok(out)
    }
}

impl<M: Dim, K: Dim, B: Backend> Tensor<(M, K), B> {
    /// Matrix product `(M, K) × (K, N) → (M, N)`; the inner dimensions must agree at compile time
    /// (and at run time, for `Dyn` ones).
    ///
    /// ```
    /// use shapeflow_core::Tensor;
    /// use shapeflow_cpu::Cpu;
    /// use typenum::{U1, U2};
    /// let dev = Cpu::default();
    /// let a = Tensor::<(U1, U2), Cpu>::from_vec(&dev, &[1, 2], vec![1.0, 2.0]).unwrap();
    /// let b = Tensor::<(U2, U1), Cpu>::from_vec(&dev, &[2, 1], vec![3.0, 4.0]).unwrap();
    /// assert_eq!(a.matmul(&b).unwrap().to_vec(), vec![11.0]);
    /// ```
    pub fn matmul<N: Dim, R: MatmulRhs<K, N, B>>(&self, rhs: R) -> Result<Tensor<(M, N), B>> {
        let rhs = rhs.rhs();
        let (m, k) = (self.dims()[0], self.dims()[1]);
        let (k2, n) = (rhs.dims()[0], rhs.dims()[1]);
        if k != k2 {
            return Err(Error::Shape(format!(
                "matmul: left operand is {m}×{k} but right operand is {k2}×{n}"
            )));
        }
        let mut out = self.zeros_on(Dims::new(&[m, n])?);
        B::matmul(self.storage(), rhs.storage(), out.storage_mut(), Gemm::new(m, k, n));
        Ok(out)
    }
}
