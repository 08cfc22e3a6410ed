//! `Flatten`: every dimension after the batch into one, `[batch, c, h, w] → [batch, c·h·w]`.

use crate::backend::Backend;
use crate::dim_arith::FlattenShape;
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::rng::Rng;
use crate::shape::Dims;
use crate::tensor::Tensor;

/// Flattens all dimensions after the first (as PyTorch's `nn.Flatten()`), with the output size
/// computed by the type system (`16 × 5 × 5 = 400`).
///
/// ```
/// use shapeflow_core::{Dyn, Layer, Tensor, layers::Flatten};
/// use shapeflow_cpu::Cpu;
/// use typenum::{U2, U3};
/// let x = Tensor::<(Dyn, U2, U3), Cpu>::zeros(&Cpu::default(), &[4, 2, 3]).unwrap();
/// let y = Flatten.forward(&x); // Tensor<(Dyn, U6), Cpu>
/// assert_eq!(y.dims(), &[4, 6]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten;
crate::impl_module_without_params!(Flatten);

impl<B: Backend> Init<B> for Flatten {
    fn init(_: &B, _: &mut Rng) -> Self {
        Flatten
    }
}

fn flat_dims(d: &[usize]) -> Dims {
    let n = d.first().copied().unwrap_or(1);
    let rest: usize = d.iter().skip(1).product();
    Dims::new(&[n, rest]).unwrap_or_default()
}

impl<S: FlattenShape, B: Backend> Layer<S, B> for Flatten {
    type Output = S::Output;
    type Cache = Dims;

    fn forward(&self, x: &Tensor<S, B>) -> Tensor<S::Output, B> {
        Tensor::from_parts(x.storage().clone(), flat_dims(x.dims()))
    }

    fn forward_train(&mut self, x: &Tensor<S, B>) -> (Tensor<S::Output, B>, Dims) {
        (Layer::<S, B>::forward(self, x), x.shape())
    }

    fn backward(&self, input: &Dims, dy: &Tensor<S::Output, B>) -> Result<(Tensor<S, B>, Self)> {
        if dy.len() != input.numel() {
            return Err(Error::Shape(format!(
                "Flatten backward: gradient of {} elements for an input of sizes {input}",
                dy.len()
            )));
        }
        Ok((Tensor::from_parts(dy.storage().clone(), *input), Flatten))
    }
}
