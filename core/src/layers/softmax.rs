//! `Softmax` and `LogSoftmax` over the last dimension.

use crate::backend::Backend;
use crate::error::Result;
use crate::layer::{Init, Layer};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::activation::init_by_default;

fn rows_cols<S: Shape, B: Backend>(x: &Tensor<S, B>) -> (usize, usize) {
    let cols = x.dims().last().copied().unwrap_or(1);
    let rows = x.len().checked_div(cols).unwrap_or(0);
    (rows, cols)
}

macro_rules! softmax_layer {
    ($name:ident, $fwd:ident, $bwd:ident) => {
        impl<S: Shape, B: Backend> Layer<S, B> for $name {
            type Output = S;
            type Cache = Tensor<S, B>;
            fn forward(&self, x: &Tensor<S, B>) -> Tensor<S, B> {
                let (r, c) = rows_cols(x);
                let mut y = x.scratch_like();
                B::$fwd(x.storage(), y.storage_mut(), r, c);
                y
            }
            fn forward_train(&mut self, x: &Tensor<S, B>) -> (Tensor<S, B>, Tensor<S, B>) {
                let y = Layer::<S, B>::forward(self, x);
                (y.clone(), y)
            }
            fn backward(
                &self,
                y: &Tensor<S, B>,
                dy: &Tensor<S, B>,
            ) -> Result<(Tensor<S, B>, Self)> {
                y.check_same_dims(dy, concat!(stringify!($name), " backward"))?;
                let (r, c) = rows_cols(y);
                let mut dx = dy.scratch_like();
                B::$bwd(y.storage(), dy.storage(), dx.storage_mut(), r, c);
                Ok((dx, *self))
            }
        }
        crate::impl_module_without_params!($name);
    };
}

/// Softmax over the last dimension, computed stably (the row maximum is subtracted first).
///
/// ```
/// use shapeflow_core::{Layer, Tensor, layers::Softmax};
/// use shapeflow_cpu::Cpu;
/// let x = Tensor::<(typenum::U1, typenum::U2), Cpu>::from_vec(&Cpu::default(), &[1, 2], vec![1000.0, 1000.0]).unwrap();
/// assert_eq!(Softmax.forward(&x).to_vec(), vec![0.5, 0.5]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Softmax;
softmax_layer!(Softmax, softmax_rows, softmax_backward_rows);

/// Log-softmax over the last dimension, computed stably (log-sum-exp).
///
/// ```
/// use shapeflow_core::{Layer, Tensor, layers::LogSoftmax};
/// use shapeflow_cpu::Cpu;
/// let x = Tensor::<(typenum::U1, typenum::U2), Cpu>::from_vec(&Cpu::default(), &[1, 2], vec![0.0, 0.0]).unwrap();
/// let y = LogSoftmax.forward(&x).to_vec();
/// assert!((y[0] + std::f32::consts::LN_2).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LogSoftmax;
softmax_layer!(LogSoftmax, log_softmax_rows, log_softmax_backward_rows);

init_by_default!(Softmax, LogSoftmax);
