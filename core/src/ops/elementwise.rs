//! Elementwise ops: unary functions, broadcast binary ops and their operators, comparisons,
//! `where_` and `masked_fill`.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::rules::BroadcastShape;
use crate::backend::{Backend, BinaryOp, UnaryOp};
use crate::error::Result;
use crate::operand::SameShapeAs;
use crate::shape::Shape;
use crate::tensor::Tensor;

macro_rules! unary_ops {
    ($($(#[$doc:meta])* $name:ident => $op:expr;)*) => {
        impl<S: Shape, B: Backend> Tensor<S, B> {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> Self {
                    Tensor::from_var(self.as_var().unary($op))
                }
            )*
        }
    };
}

unary_ops! {
    /// `-x`.
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Const<2>,), Cpu>::from_vec(&Cpu::default(), &[2], vec![-1.0, 4.0]).unwrap();
    /// assert_eq!(x.neg().to_vec(), vec![1.0, -4.0]);
    /// assert_eq!(x.abs().to_vec(), vec![1.0, 4.0]);
    /// assert_eq!(x.relu().to_vec(), vec![0.0, 4.0]);
    /// assert_eq!(x.square().sqrt().to_vec(), vec![1.0, 4.0]);
    /// assert_eq!(x.sign().to_vec(), vec![-1.0, 1.0]);
    /// ```
    neg => UnaryOp::Neg;
    /// `|x|`.
    abs => UnaryOp::Abs;
    /// `eˣ`.
    exp => UnaryOp::Exp;
    /// The natural logarithm.
    log => UnaryOp::Log;
    /// `ln(1 + x)`, accurate near 0.
    log1p => UnaryOp::Log1p;
    /// `√x`.
    sqrt => UnaryOp::Sqrt;
    /// `1/√x`.
    rsqrt => UnaryOp::Rsqrt;
    /// `1/x`.
    recip => UnaryOp::Recip;
    /// `x²`.
    square => UnaryOp::Square;
    /// `sin x`.
    sin => UnaryOp::Sin;
    /// `cos x`.
    cos => UnaryOp::Cos;
    /// `tanh x`.
    tanh => UnaryOp::Tanh;
    /// The logistic function `1/(1 + e⁻ˣ)`.
    sigmoid => UnaryOp::Sigmoid;
    /// `max(x, 0)`.
    relu => UnaryOp::Relu;
    /// GELU, the exact (erf) form (PyTorch's default).
    gelu => UnaryOp::Gelu;
    /// SiLU (swish), `x·σ(x)`.
    silu => UnaryOp::Silu;
    /// `ln(1 + eˣ)` (linear above 20, as PyTorch).
    softplus => UnaryOp::Softplus;
    /// −1, 0 or 1 (gradient 0).
    sign => UnaryOp::Sign;
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// `xᵖ` for a fixed exponent.
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Const<2>,), Cpu>::from_vec(&Cpu::default(), &[2], vec![4.0, 9.0]).unwrap();
    /// assert_eq!(x.powf(0.5).to_vec(), vec![2.0, 3.0]);
    /// assert_eq!(x.clamp(5.0, 8.0).to_vec(), vec![5.0, 8.0]);
    /// assert_eq!(x.add_scalar(1.0).mul_scalar(2.0).to_vec(), vec![10.0, 20.0]);
    /// ```
    pub fn powf(&self, p: f64) -> Self {
        Tensor::from_var(self.as_var().unary(UnaryOp::Powf(p)))
    }
    /// Each value clamped to `[lo, hi]`.
    pub fn clamp(&self, lo: f64, hi: f64) -> Self {
        Tensor::from_var(self.as_var().unary(UnaryOp::Clamp(lo, hi)))
    }
    /// `x + c`.
    pub fn add_scalar(&self, c: f64) -> Self {
        Tensor::from_var(self.as_var().unary(UnaryOp::AddScalar(c)))
    }
    /// `x − c`.
    pub fn sub_scalar(&self, c: f64) -> Self {
        Tensor::from_var(self.as_var().unary(UnaryOp::AddScalar(-c)))
    }
    /// `x · c`.
    pub fn mul_scalar(&self, c: f64) -> Self {
        Tensor::from_var(self.as_var().unary(UnaryOp::MulScalar(c)))
    }
    /// `x / c`.
    pub fn div_scalar(&self, c: f64) -> Self {
        Tensor::from_var(self.as_var().unary(UnaryOp::MulScalar(1.0 / c)))
    }
    /// `c − x` (PyTorch's `rsub`).
    pub fn rsub_scalar(&self, c: f64) -> Self {
        Tensor::from_var(self.as_var().unary(UnaryOp::RsubScalar(c)))
    }
    /// `c / x`.
    pub fn rdiv_scalar(&self, c: f64) -> Self {
        Tensor::from_var(self.as_var().unary(UnaryOp::RdivScalar(c)))
    }
    /// `cˣ`.
    pub fn rpow_scalar(&self, c: f64) -> Self {
        Tensor::from_var(self.as_var().unary(UnaryOp::RpowScalar(c)))
    }
}

/// The broadcast result of `S` with `T`.
pub type Broadcast<S, T, B> = Tensor<<S as BroadcastShape<T>>::Output, B>;

macro_rules! binary_ops {
    ($($(#[$doc:meta])* $name:ident => $op:expr;)*) => {
        impl<S: Shape, B: Backend> Tensor<S, B> {
            $(
                $(#[$doc])*
                pub fn $name<T: Shape>(&self, other: &Tensor<T, B>) -> Result<Broadcast<S, T, B>>
                where
                    S: BroadcastShape<T>,
                {
                    Ok(Tensor::from_var(self.as_var().binary($op, &other.as_var())?))
                }
            )*
        }
    };
}

binary_ops! {
    /// `a + b` with PyTorch's broadcasting: shapes aligned from the right, each pair of sizes
    /// equal or one of them 1. A `Dyn` size that does not fit at run time is an `Err`.
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let x = Tensor::<(Dyn, Const<2>), Cpu>::from_vec(&dev, &[2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    /// let b = Tensor::<(Const<2>,), Cpu>::from_vec(&dev, &[2], vec![10.0, 20.0]).unwrap();
    /// assert_eq!(x.add(&b).unwrap().to_vec(), vec![11.0, 22.0, 13.0, 24.0]);
    /// let col = Tensor::<(Dyn, Const<1>), Cpu>::from_vec(&dev, &[2, 1], vec![1.0, 2.0]).unwrap();
    /// assert_eq!(x.mul(&col).unwrap().to_vec(), vec![1.0, 2.0, 6.0, 8.0]);
    /// assert_eq!(x.gt(&b.div(&b).unwrap()).unwrap().to_vec(), vec![0.0, 1.0, 1.0, 1.0]);
    /// ```
    add => BinaryOp::Add;
    /// `a − b`, broadcast.
    sub => BinaryOp::Sub;
    /// `a · b`, broadcast.
    mul => BinaryOp::Mul;
    /// `a / b`, broadcast.
    div => BinaryOp::Div;
    /// The larger of each pair, broadcast (NaN wins; a tie splits the gradient, as PyTorch).
    maximum => BinaryOp::Maximum;
    /// The smaller of each pair, broadcast.
    minimum => BinaryOp::Minimum;
    /// `aᵇ`, broadcast.
    pow => BinaryOp::Pow;
    /// 1 where `a == b`, else 0 (a mask, with no gradient).
    eq => BinaryOp::Eq;
    /// 1 where `a != b`.
    ne => BinaryOp::Ne;
    /// 1 where `a < b`.
    lt => BinaryOp::Lt;
    /// 1 where `a <= b`.
    le => BinaryOp::Le;
    /// 1 where `a > b`.
    gt => BinaryOp::Gt;
    /// 1 where `a >= b`.
    ge => BinaryOp::Ge;
}

macro_rules! same_shape_ops {
    ($($(#[$doc:meta])* $name:ident => $op:expr;)*) => {
        impl<S: Shape, B: Backend> Tensor<S, B> {
            $(
                $(#[$doc])*
                pub fn $name<R: SameShapeAs<Self>>(&self, other: R) -> Result<Self> {
                    let other = other.operand();
                    self.check_same_dims(other, stringify!($name))?;
                    Ok(Tensor::from_var(self.as_var().binary($op, &other.as_var())?))
                }
            )*
        }
    };
}

same_shape_ops! {
    /// `a + b` for two tensors of the same shape, without broadcasting: the form for code
    /// generic over the shape `S` (where the compiler cannot prove a broadcast), e.g. a loss or
    /// layer written for any shape.
    ///
    /// ```
    /// use shapeflow_core::{Shape, Tensor, Backend, Result};
    /// use shapeflow_cpu::Cpu;
    /// fn residual<S: Shape, B: Backend>(x: &Tensor<S, B>, f: &Tensor<S, B>) -> Result<Tensor<S, B>> {
    ///     x.add_same(f)
    /// }
    /// let x = Tensor::<(typenum::U2,), Cpu>::ones(&Cpu::default(), &[2]).unwrap();
    /// assert_eq!(residual(&x, &x).unwrap().to_vec(), vec![2.0, 2.0]);
    /// assert_eq!(x.mul_same(&x).unwrap().to_vec(), vec![1.0, 1.0]);
    /// ```
    add_same => BinaryOp::Add;
    /// `a − b` for two tensors of the same shape (see [`Tensor::add_same`]).
    sub_same => BinaryOp::Sub;
    /// `a · b` for two tensors of the same shape (see [`Tensor::add_same`]).
    mul_same => BinaryOp::Mul;
    /// `a / b` for two tensors of the same shape (see [`Tensor::add_same`]).
    div_same => BinaryOp::Div;
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// `self` where `condition` is non-zero, else `other` (PyTorch's `self.where(condition,
    /// other)`), all three broadcast.
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let x = Tensor::<(Const<3>,), Cpu>::from_vec(&dev, &[3], vec![-1.0, 2.0, -3.0]).unwrap();
    /// let zero = Tensor::<(Const<1>,), Cpu>::zeros(&dev, &[1]).unwrap();
    /// let pos = x.gt(&zero).unwrap();
    /// assert_eq!(x.where_(&pos, &zero).unwrap().to_vec(), vec![0.0, 2.0, 0.0]);
    /// assert_eq!(x.masked_fill(&pos, 9.0).unwrap().to_vec(), vec![-1.0, 9.0, -3.0]);
    /// ```
    pub fn where_<M: Shape, T: Shape>(
        &self,
        condition: &Tensor<M, B>,
        other: &Tensor<T, B>,
    ) -> Result<Broadcast<S, T, B>>
    where
        S: BroadcastShape<T>,
        <S as BroadcastShape<T>>::Output:
            BroadcastShape<M, Output = <S as BroadcastShape<T>>::Output>,
    {
        Ok(Tensor::from_var(self.as_var().select(&condition.as_var(), &other.as_var())?))
    }

    /// `value` where `mask` is non-zero, else `self` (the mask broadcasts to `self`'s shape).
    pub fn masked_fill<M: Shape>(&self, mask: &Tensor<M, B>, value: f64) -> Result<Self>
    where
        S: BroadcastShape<M, Output = S>,
    {
        let v = self.as_var();
        let fill = v.constant(crate::Dims::default(), value);
        let out = fill.select(&mask.as_var(), &v)?;
        if out.dims() != v.dims() {
            return Err(crate::Error::Shape(format!(
                "masked_fill: a mask of sizes {} does not broadcast to {}",
                mask.shape(),
                v.dims()
            )));
        }
        Ok(Tensor::from_var(out))
    }
}

macro_rules! operator {
    ($trait:ident, $method:ident, $op:expr, $scalar:expr) => {
        impl<S: Shape, T: Shape, B: Backend> $trait<&Tensor<T, B>> for &Tensor<S, B>
        where
            S: BroadcastShape<T>,
        {
            type Output = Result<Broadcast<S, T, B>>;
            fn $method(self, rhs: &Tensor<T, B>) -> Self::Output {
                Ok(Tensor::from_var(self.as_var().binary($op, &rhs.as_var())?))
            }
        }
        impl<S: Shape, T: Shape, B: Backend> $trait<&Tensor<T, B>> for Tensor<S, B>
        where
            S: BroadcastShape<T>,
        {
            type Output = Result<Broadcast<S, T, B>>;
            fn $method(self, rhs: &Tensor<T, B>) -> Self::Output {
                (&self).$method(rhs)
            }
        }
        /// Chains an op on a result: `(&a * &b) + &c` is `Err` if either step fails.
        impl<S: Shape, T: Shape, B: Backend> $trait<&Tensor<T, B>> for Result<Tensor<S, B>>
        where
            S: BroadcastShape<T>,
        {
            type Output = Result<Broadcast<S, T, B>>;
            fn $method(self, rhs: &Tensor<T, B>) -> Self::Output {
                (&self?).$method(rhs)
            }
        }
        impl<S: Shape, B: Backend> $trait<f64> for &Tensor<S, B> {
            type Output = Tensor<S, B>;
            fn $method(self, c: f64) -> Tensor<S, B> {
                Tensor::from_var(self.as_var().unary($scalar(c)))
            }
        }
        impl<S: Shape, B: Backend> $trait<f64> for Tensor<S, B> {
            type Output = Tensor<S, B>;
            fn $method(self, c: f64) -> Tensor<S, B> {
                (&self).$method(c)
            }
        }
    };
}

operator!(Add, add, BinaryOp::Add, UnaryOp::AddScalar);
operator!(Sub, sub, BinaryOp::Sub, |c: f64| UnaryOp::AddScalar(-c));
operator!(Mul, mul, BinaryOp::Mul, UnaryOp::MulScalar);
operator!(Div, div, BinaryOp::Div, |c: f64| UnaryOp::MulScalar(1.0 / c));

impl<S: Shape, B: Backend> Neg for &Tensor<S, B> {
    type Output = Tensor<S, B>;
    /// `-x`.
    fn neg(self) -> Tensor<S, B> {
        Tensor::neg(self)
    }
}

impl<S: Shape, B: Backend> Neg for Tensor<S, B> {
    type Output = Tensor<S, B>;
    fn neg(self) -> Tensor<S, B> {
        Tensor::neg(&self)
    }
}
