//! `Flatten`: every dimension after the batch into one, `[batch, c, h, w] → [batch, c·h·w]`.

use crate::backend::Backend;
use crate::dim::{Dim, StaticDim};
use crate::dim_arith::FlattenShape;
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::layer_to::LayerTo;
use crate::rng::Rng;
use crate::shape::{Dims, Shape};
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

fn flatten_forward<S: Shape, Y: Shape, B: Backend>(x: &Tensor<S, B>) -> Tensor<Y, B> {
    Tensor::from_parts(x.storage().clone(), flat_dims(x.dims()))
}

fn flatten_backward<S: Shape, Y: Shape, B: Backend>(
    input: &Dims,
    dy: &Tensor<Y, B>,
) -> Result<(Tensor<S, B>, Flatten)> {
    if dy.len() != input.numel() {
        return Err(Error::Shape(format!(
            "Flatten backward: gradient of {} elements for an input of sizes {input}",
            dy.len()
        )));
    }
    Ok((Tensor::from_parts(dy.storage().clone(), *input), Flatten))
}

/// Type-level sizes (typenum dimensions): the flat size is computed by [`FlattenShape`].
impl<S: FlattenShape, B: Backend> Layer<S, B> for Flatten {
    type Output = S::Output;
    type Cache = Dims;

    fn forward(&self, x: &Tensor<S, B>) -> Tensor<S::Output, B> {
        flatten_forward(x)
    }

    fn forward_train(&mut self, x: &Tensor<S, B>) -> (Tensor<S::Output, B>, Dims) {
        (flatten_forward(x), x.shape())
    }

    fn backward(&self, input: &Dims, dy: &Tensor<S::Output, B>) -> Result<(Tensor<S, B>, Self)> {
        flatten_backward(input, dy)
    }
}

/// `LayerTo` for each rank: `(N, A, …) → (N, F)` with `F = A·…` checked when built.
macro_rules! flatten_to {
    ($($d:ident),+) => {
        impl<N: Dim, $($d: StaticDim,)+ F: StaticDim, B: Backend> LayerTo<(N, $($d,)+), (N, F), B>
            for Flatten
        {
            type Cache = Dims;

            fn forward_to(&self, x: &Tensor<(N, $($d,)+), B>) -> Tensor<(N, F), B> {
                const {
                    crate::layer_to::fail_if(
                        1 $(* $d::N)+ != F::N,
                        "Flatten: the stated flat size is not the product of the input's sizes",
                    )
                }
                flatten_forward(x)
            }

            fn forward_train_to(&mut self, x: &Tensor<(N, $($d,)+), B>) -> (Tensor<(N, F), B>, Dims) {
                (self.forward_to(x), x.shape())
            }

            fn backward_to(
                &self,
                input: &Dims,
                dy: &Tensor<(N, F), B>,
            ) -> Result<(Tensor<(N, $($d,)+), B>, Self)> {
                flatten_backward(input, dy)
            }
        }
    };
}
flatten_to!(A);
flatten_to!(A, C);
flatten_to!(A, C, H);
flatten_to!(A, C, H, W);
flatten_to!(A, C, H, W, E);
