//! What the recurrent layers (`Lstm`) share: the weights of one layer and direction under
//! PyTorch's names (`weight_ih_l0`, `bias_hh_l1_reverse`), their initialisation, and the
//! time-major plumbing (batch-first ↔ time-major, reversal of each sample's valid steps).

use crate::backend::{Backend, Blocks, StepBatch};
use crate::dim::Dyn;
use crate::module::{Module, VisitFn, VisitGradsFn, VisitMutFn, with_field};
use crate::rng::Rng;
use crate::shape::Dims;
use crate::tensor::Tensor;

/// The weights of one layer and direction of a recurrent layer with `gates` gate blocks (4 for
/// an LSTM): `weight_ih [gates·hidden, input]`, `weight_hh [gates·hidden, hidden]`, and the two
/// biases `[gates·hidden]`, laid out as PyTorch's.
pub struct RecurrentWeights<B: Backend> {
    /// Input-to-hidden weights, `[gates·hidden, input]`.
    pub weight_ih: Tensor<(Dyn, Dyn), B>,
    /// Hidden-to-hidden weights, `[gates·hidden, hidden]`.
    pub weight_hh: Tensor<(Dyn, Dyn), B>,
    /// Input-to-hidden bias, `[gates·hidden]`.
    pub bias_ih: Tensor<(Dyn,), B>,
    /// Hidden-to-hidden bias, `[gates·hidden]`.
    pub bias_hh: Tensor<(Dyn,), B>,
}

impl<B: Backend> Clone for RecurrentWeights<B> {
    fn clone(&self) -> Self {
        RecurrentWeights {
            weight_ih: self.weight_ih.clone(),
            weight_hh: self.weight_hh.clone(),
            bias_ih: self.bias_ih.clone(),
            bias_hh: self.bias_hh.clone(),
        }
    }
}

impl<B: Backend> RecurrentWeights<B> {
    /// PyTorch's initialisation: every weight and bias uniform on `±1/√hidden`, drawn in the
    /// state-dict order.
    pub(crate) fn init(dev: &B, rng: &mut Rng, gates: usize, input: usize, hidden: usize) -> Self {
        let k = 1.0 / (hidden as f64).sqrt();
        let mut draw = |sizes: &[usize]| -> Vec<B::Elem> {
            let n: usize = sizes.iter().product();
            (0..n).map(|_| <B::Elem as crate::Elem>::from_f64(rng.uniform_in(-k, k))).collect()
        };
        let g = gates * hidden;
        let (wih, whh, bih, bhh) = (draw(&[g, input]), draw(&[g, hidden]), draw(&[g]), draw(&[g]));
        RecurrentWeights {
            weight_ih: Tensor::from_parts(dev.upload(&wih), dims(&[g, input])),
            weight_hh: Tensor::from_parts(dev.upload(&whh), dims(&[g, hidden])),
            bias_ih: Tensor::from_parts(dev.upload(&bih), dims(&[g])),
            bias_hh: Tensor::from_parts(dev.upload(&bhh), dims(&[g])),
        }
    }

    /// Zero tensors of the same sizes (gradient accumulators).
    pub(crate) fn zeros_like(&self) -> Self {
        RecurrentWeights {
            weight_ih: self.weight_ih.zeros_like(),
            weight_hh: self.weight_hh.zeros_like(),
            bias_ih: self.bias_ih.zeros_like(),
            bias_hh: self.bias_hh.zeros_like(),
        }
    }
}

pub(crate) fn dims(sizes: &[usize]) -> Dims {
    Dims::new(sizes).unwrap_or_default()
}

/// `weight_ih_l{layer}{_reverse}` and the others, for cell `i` of a layer with `dirs`
/// directions.
fn suffix(i: usize, dirs: usize) -> String {
    let rev = if dirs == 2 && i % 2 == 1 { "_reverse" } else { "" };
    format!("_l{}{rev}", i / dirs)
}

/// Visits a list of cells under PyTorch's names (`weight_ih_l0`, …, `bias_hh_l0_reverse`).
pub(crate) fn visit_cells<B: Backend>(
    cells: &[RecurrentWeights<B>],
    dirs: usize,
    path: &mut String,
    f: &mut VisitFn<'_, B>,
) {
    for (i, c) in cells.iter().enumerate() {
        let s = suffix(i, dirs);
        with_field(path, &format!("weight_ih{s}"), |p| c.weight_ih.visit_params(p, f));
        with_field(path, &format!("weight_hh{s}"), |p| c.weight_hh.visit_params(p, f));
        with_field(path, &format!("bias_ih{s}"), |p| c.bias_ih.visit_params(p, f));
        with_field(path, &format!("bias_hh{s}"), |p| c.bias_hh.visit_params(p, f));
    }
}

/// [`visit_cells`], mutably.
pub(crate) fn visit_cells_mut<B: Backend>(
    cells: &mut [RecurrentWeights<B>],
    dirs: usize,
    path: &mut String,
    f: &mut VisitMutFn<'_, B>,
) {
    for (i, c) in cells.iter_mut().enumerate() {
        let s = suffix(i, dirs);
        with_field(path, &format!("weight_ih{s}"), |p| c.weight_ih.visit_params_mut(p, f));
        with_field(path, &format!("weight_hh{s}"), |p| c.weight_hh.visit_params_mut(p, f));
        with_field(path, &format!("bias_ih{s}"), |p| c.bias_ih.visit_params_mut(p, f));
        with_field(path, &format!("bias_hh{s}"), |p| c.bias_hh.visit_params_mut(p, f));
    }
}

/// [`visit_cells`] with the gradients beside.
pub(crate) fn visit_cells_with_grads<B: Backend>(
    cells: &mut [RecurrentWeights<B>],
    grads: &[RecurrentWeights<B>],
    dirs: usize,
    path: &mut String,
    f: &mut VisitGradsFn<'_, B>,
) {
    for (i, (c, g)) in cells.iter_mut().zip(grads).enumerate() {
        let s = suffix(i, dirs);
        with_field(path, &format!("weight_ih{s}"), |p| {
            c.weight_ih.visit_params_with_grads(&g.weight_ih, p, f)
        });
        with_field(path, &format!("weight_hh{s}"), |p| {
            c.weight_hh.visit_params_with_grads(&g.weight_hh, p, f)
        });
        with_field(path, &format!("bias_ih{s}"), |p| {
            c.bias_ih.visit_params_with_grads(&g.bias_ih, p, f)
        });
        with_field(path, &format!("bias_hh{s}"), |p| {
            c.bias_hh.visit_params_with_grads(&g.bias_hh, p, f)
        });
    }
}

/// Swaps the batch and step axes of a `[a, b, width]` buffer into `[b, a, width]`.
pub(crate) fn swap_axes<B: Backend>(
    x: &B::Storage,
    a: usize,
    b: usize,
    width: usize,
) -> B::Storage {
    let mut y = B::scratch_like(x, a * b * width);
    B::transpose_blocks(x, &mut y, Blocks { batch: 1, rows: a, cols: b, inner: width });
    y
}

/// Each sample's valid steps reversed (time-major), padded steps zero.
pub(crate) fn reversed<B: Backend>(x: &B::Storage, lengths: &[usize], g: StepBatch) -> B::Storage {
    let mut y = B::scratch_like(x, g.len());
    B::reverse_steps(x, &mut y, lengths, g);
    y
}
