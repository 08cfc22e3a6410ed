//! What `fit` and `evaluate` accept as a model's output: a batch of vectors `[batch, C]` (one
//! row of the loss per sample), or a sequence batch `[batch, seq, C]` (one row per valid step:
//! language models and taggers, trained on [`Dataset::sequences_with_step_labels`]).
//!
//! [`Dataset::sequences_with_step_labels`]: crate::data::Dataset::sequences_with_step_labels

use crate::backend::Backend;
use crate::dim::{Dyn, StaticDim};
use crate::shape::{Dims, Shape};
use crate::tensor::Tensor;

/// Where each row of the loss came from in a sequence output (`None`: the output is the rows).
pub struct RowIndex(Option<(Vec<usize>, Dims)>);

/// A model output `fit` can train: its rows for the loss and metrics, and the way back for the
/// rows' gradient.
///
/// ```
/// use shapeflow_core::{Dyn, Tensor, fit::FitOutput};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let y = Tensor::<(Dyn, Dyn, typenum::U2), Cpu>::from_sequences(&dev, &[vec![1.0, 2.0, 3.0, 4.0], vec![5.0, 6.0]]).unwrap();
/// let (rows, index) = <(Dyn, Dyn, typenum::U2) as FitOutput<typenum::U2, Cpu>>::rows(y);
/// assert_eq!(rows.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]); // the padded step left out
/// let back = <(Dyn, Dyn, typenum::U2) as FitOutput<typenum::U2, Cpu>>::unrows(rows, &index);
/// assert_eq!(back.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0]);
/// ```
pub trait FitOutput<C: StaticDim, B: Backend>: Shape {
    /// One row per sample (the output itself, moved), or per valid step (gathered).
    fn rows(out: Tensor<Self, B>) -> (Tensor<(Dyn, C), B>, RowIndex);
    /// The output's gradient from the rows' gradient (zeros at padded steps).
    fn unrows(grad: Tensor<(Dyn, C), B>, index: &RowIndex) -> Tensor<Self, B>;
}

impl<C: StaticDim, B: Backend> FitOutput<C, B> for (Dyn, C) {
    fn rows(out: Tensor<Self, B>) -> (Tensor<(Dyn, C), B>, RowIndex) {
        (out, RowIndex(None))
    }
    fn unrows(grad: Tensor<(Dyn, C), B>, _: &RowIndex) -> Tensor<Self, B> {
        grad
    }
}

impl<C: StaticDim, B: Backend> FitOutput<C, B> for (Dyn, Dyn, C) {
    fn rows(out: Tensor<Self, B>) -> (Tensor<(Dyn, C), B>, RowIndex) {
        let steps = out.dims()[1];
        let rows: Vec<usize> = out
            .step_lengths()
            .iter()
            .enumerate()
            .flat_map(|(b, &len)| (0..len).map(move |t| b * steps + t))
            .collect();
        let mut r = out.scratch_on::<(Dyn, C)>(Dims::new(&[rows.len(), C::N]).unwrap_or_default());
        B::gather_rows(out.storage(), &rows, r.storage_mut(), C::N);
        (r, RowIndex(Some((rows, out.shape()))))
    }
    fn unrows(grad: Tensor<(Dyn, C), B>, index: &RowIndex) -> Tensor<Self, B> {
        match &index.0 {
            Some((rows, dims)) => {
                let mut out = grad.zeros_on::<Self>(*dims);
                B::scatter_add_rows(grad.storage(), rows, out.storage_mut(), C::N);
                out
            }
            None => grad.__assume_shape(),
        }
    }
}
