//! Reductions along an axis named by a const generic (`sum::<1>()`), with or without
//! `keepdim`, softmax along an axis, and whole-tensor reductions to a rank-0 tensor.

use super::rules::Axis;
use super::var::Var;
use crate::backend::{Backend, ReduceOp};
use crate::error::Result;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// The shape `S` without axis `AX`.
pub type Removed<S, const AX: usize> = <S as Axis<AX>>::Removed;
/// The shape `S` with axis `AX` kept as size 1.
pub type Kept<S, const AX: usize> = <S as Axis<AX>>::Kept;

macro_rules! axis_reductions {
    ($($(#[$doc:meta])* $name:ident, $keep:ident => |$v:ident, $ax:ident, $kd:ident| $body:expr;)*) => {
        impl<S: Shape, B: Backend> Tensor<S, B> {
            $(
                $(#[$doc])*
                pub fn $name<const AX: usize>(&self) -> Tensor<Removed<S, AX>, B>
                where
                    S: Axis<AX>,
                {
                    let ($v, $ax, $kd) = (self.as_var(), AX, false);
                    Tensor::from_var($body)
                }
                #[doc = concat!("[`Tensor::", stringify!($name), "`] keeping the axis as size 1 (`keepdim=True`).")]
                pub fn $keep<const AX: usize>(&self) -> Tensor<Kept<S, AX>, B>
                where
                    S: Axis<AX>,
                {
                    let ($v, $ax, $kd) = (self.as_var(), AX, true);
                    Tensor::from_var($body)
                }
            )*
        }
    };
}

axis_reductions! {
    /// The sum along axis `AX`, which the result drops.
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Dyn, Const<3>), Cpu>::from_vec(&Cpu::default(), &[2, 3], vec![1.0, 5.0, 3.0, 4.0, 2.0, 6.0]).unwrap();
    /// assert_eq!(x.sum::<1>().to_vec(), vec![9.0, 12.0]);
    /// assert_eq!(x.sum_keepdim::<0>().dims(), &[1, 3]);
    /// assert_eq!(x.mean::<0>().to_vec(), vec![2.5, 3.5, 4.5]);
    /// assert_eq!(x.max::<1>().to_vec(), vec![5.0, 6.0]);
    /// assert_eq!(x.argmax::<1>().to_vec(), vec![1.0, 2.0]);
    /// assert_eq!(x.min::<0>().to_vec(), vec![1.0, 2.0, 3.0]);
    /// ```
    sum, sum_keepdim => |v, ax, kd| v.sum(ax, kd);
    /// The mean along axis `AX`.
    mean, mean_keepdim => |v, ax, kd| v.mean(ax, kd);
    /// The largest value along axis `AX` (the gradient goes to the first largest, as PyTorch).
    max, max_keepdim => |v, ax, kd| v.extreme(ReduceOp::Max, ax, kd);
    /// The smallest value along axis `AX`.
    min, min_keepdim => |v, ax, kd| v.extreme(ReduceOp::Min, ax, kd);
    /// The index of the first largest value along `AX`, as a number (no gradient).
    argmax, argmax_keepdim => |v, ax, kd| v.arg(ReduceOp::ArgMax, ax, kd);
    /// The index of the first smallest value along `AX`.
    argmin, argmin_keepdim => |v, ax, kd| v.arg(ReduceOp::ArgMin, ax, kd);
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// The variance along `AX` with Bessel's correction (PyTorch's default, `correction=1`).
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Const<1>, Const<4>), Cpu>::from_vec(&Cpu::default(), &[1, 4], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    /// assert!((x.var::<1>().unwrap().to_vec()[0] - 5.0 / 3.0).abs() < 1e-6);
    /// assert!((x.var_correction::<1>(0).unwrap().to_vec()[0] - 1.25).abs() < 1e-6);
    /// ```
    pub fn var<const AX: usize>(&self) -> Result<Tensor<Removed<S, AX>, B>>
    where
        S: Axis<AX>,
    {
        Ok(Tensor::from_var(self.as_var().var(AX, false, 1)?))
    }

    /// The variance along `AX` with a given correction (0: the population variance; PyTorch's
    /// `var(dim, correction=c)`).
    pub fn var_correction<const AX: usize>(
        &self,
        correction: usize,
    ) -> Result<Tensor<Removed<S, AX>, B>>
    where
        S: Axis<AX>,
    {
        Ok(Tensor::from_var(self.as_var().var(AX, false, correction)?))
    }

    /// [`Tensor::var`] keeping the axis as size 1.
    pub fn var_keepdim<const AX: usize>(&self) -> Result<Tensor<Kept<S, AX>, B>>
    where
        S: Axis<AX>,
    {
        Ok(Tensor::from_var(self.as_var().var(AX, true, 1)?))
    }

    /// `ln Σ eˣ` along `AX`, computed stably (shifted by the maximum).
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Const<1>, Const<2>), Cpu>::from_vec(&Cpu::default(), &[1, 2], vec![1000.0, 1000.0]).unwrap();
    /// let l = x.logsumexp::<1>().unwrap().to_vec()[0];
    /// assert!((l - (1000.0 + 2f32.ln())).abs() < 1e-3);
    /// ```
    pub fn logsumexp<const AX: usize>(&self) -> Result<Tensor<Removed<S, AX>, B>>
    where
        S: Axis<AX>,
    {
        Ok(Tensor::from_var(self.as_var().logsumexp(AX, false)?))
    }

    /// [`Tensor::logsumexp`] keeping the axis as size 1.
    pub fn logsumexp_keepdim<const AX: usize>(&self) -> Result<Tensor<Kept<S, AX>, B>>
    where
        S: Axis<AX>,
    {
        Ok(Tensor::from_var(self.as_var().logsumexp(AX, true)?))
    }

    /// The `p`-norm along `AX` (`p = 2.0` for the Euclidean norm).
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Const<1>, Const<2>), Cpu>::from_vec(&Cpu::default(), &[1, 2], vec![3.0, 4.0]).unwrap();
    /// assert_eq!(x.norm::<1>(2.0).to_vec(), vec![5.0]);
    /// ```
    pub fn norm<const AX: usize>(&self, p: f64) -> Tensor<Removed<S, AX>, B>
    where
        S: Axis<AX>,
    {
        Tensor::from_var(self.as_var().norm(p, AX, false))
    }

    /// [`Tensor::norm`] keeping the axis as size 1.
    pub fn norm_keepdim<const AX: usize>(&self, p: f64) -> Tensor<Kept<S, AX>, B>
    where
        S: Axis<AX>,
    {
        Tensor::from_var(self.as_var().norm(p, AX, true))
    }

    /// Softmax along `AX`: `eˣ / Σ eˣ`, computed stably.
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Const<1>, Const<2>), Cpu>::from_vec(&Cpu::default(), &[1, 2], vec![0.0, 0.0]).unwrap();
    /// assert_eq!(x.softmax::<1>().unwrap().to_vec(), vec![0.5, 0.5]);
    /// assert!((x.log_softmax::<1>().unwrap().to_vec()[0] + 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn softmax<const AX: usize>(&self) -> Result<Self>
    where
        S: Axis<AX>,
    {
        Ok(Tensor::from_var(self.as_var().softmax(AX)?))
    }

    /// `ln softmax(x)` along `AX`, computed as `x − logsumexp(x)`.
    pub fn log_softmax<const AX: usize>(&self) -> Result<Self>
    where
        S: Axis<AX>,
    {
        Ok(Tensor::from_var(self.as_var().log_softmax(AX)?))
    }

    /// The sum of every element, as a rank-0 tensor (differentiable; read it with
    /// [`Tensor::item`]).
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Const<2>, Const<2>), Cpu>::from_vec(&Cpu::default(), &[2, 2], vec![1.0, 2.0, 3.0, 6.0]).unwrap();
    /// assert_eq!(x.sum_all().item(), 12.0);
    /// assert_eq!(x.mean_all().item(), 3.0);
    /// assert_eq!((x.max_all().item(), x.min_all().item()), (6.0, 1.0));
    /// ```
    pub fn sum_all(&self) -> Tensor<(), B> {
        Tensor::from_var(self.as_var().sum_all())
    }

    /// The mean of every element.
    pub fn mean_all(&self) -> Tensor<(), B> {
        let n = self.len().max(1) as f64;
        Tensor::from_var(self.as_var().sum_all().unary(crate::backend::UnaryOp::MulScalar(1.0 / n)))
    }

    /// The largest element.
    pub fn max_all(&self) -> Tensor<(), B> {
        Tensor::from_var(flat(self).extreme(ReduceOp::Max, 0, false))
    }

    /// The smallest element.
    pub fn min_all(&self) -> Tensor<(), B> {
        Tensor::from_var(flat(self).extreme(ReduceOp::Min, 0, false))
    }
}

fn flat<S: Shape, B: Backend>(t: &Tensor<S, B>) -> Var<B> {
    t.as_var().reshape(crate::Dims::new(&[t.len()]).unwrap_or_default())
}

impl<B: Backend> Tensor<(), B> {
    /// The value of a rank-0 tensor, as `f64`.
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Const<3>,), Cpu>::ones(&Cpu::default(), &[3]).unwrap();
    /// assert_eq!(x.sum_all().item(), 3.0);
    /// ```
    pub fn item(&self) -> f64 {
        use crate::backend::Elem;
        self.to_vec().first().map_or(f64::NAN, |v| v.as_f64())
    }
}
