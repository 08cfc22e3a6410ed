//! A recurrent layer's input side: every step's input projection `x·W_ihᵀ + b_ih` (with `b_hh`
//! for cells that add it there), from the input rows or, when the input is an `Embedding`'s
//! lookup, from the table's projection gathered per token; and its backward, the weights'
//! gradients and the gradient of the rows or of the table.

use crate::backend::{Backend, Gemm};
use crate::layers::recurrent::RecurrentWeights;
use crate::layers::recurrent_layer::DirSizes;

/// Where one layer and direction reads its input from (time-major, reversed for the reverse
/// direction).
pub enum DirInput<B: Backend> {
    /// The input rows, `[steps·batch, width]`.
    Rows(B::Storage),
    /// The index of each step's row in an embedding table (`usize::MAX`: not an id, a row of
    /// NaN, as the lookup gives): the layer projects the table once instead of every token.
    Table(Vec<usize>),
}

/// An embedding table a recurrent layer's first layer reads through: its values `[vocab,
/// width]`.
pub(crate) struct TableRef<'a, B: Backend> {
    pub values: &'a B::Storage,
    pub vocab: usize,
}

impl<B: Backend> Clone for TableRef<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<B: Backend> Copy for TableRef<'_, B> {}

/// A direction's input as the projection reads it.
pub(crate) enum Source<'a, B: Backend> {
    /// The input rows.
    Rows(&'a B::Storage),
    /// Rows of `table` by index (no table: every row missing, NaN).
    Table(&'a [usize], Option<TableRef<'a, B>>),
}

impl<B: Backend> Clone for Source<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<B: Backend> Copy for Source<'_, B> {}

/// The gradient a direction's input side sends back.
pub(crate) enum InputGrad<B: Backend> {
    /// Of the input rows, `[steps·batch, width]`.
    Rows(B::Storage),
    /// Of the embedding table, `[vocab, width]`.
    Table(B::Storage),
}

impl<B: Backend> InputGrad<B> {
    fn storage(&self) -> &B::Storage {
        match self {
            InputGrad::Rows(s) | InputGrad::Table(s) => s,
        }
    }

    /// `self + other` (gradients of the same input: the two directions of one layer).
    pub(crate) fn add(mut self, other: &Self) -> Self {
        let (InputGrad::Rows(acc) | InputGrad::Table(acc)) = &mut self;
        B::axpy(<B::Elem as num_traits::One>::one(), other.storage(), acc);
        self
    }
}

/// Every step's input projection, `[steps·batch, gates·hidden]`.
pub(crate) fn project<B: Backend>(
    w: &RecurrentWeights<B>,
    input: Source<'_, B>,
    (gates, with_hh_bias): (usize, bool),
    s: DirSizes,
) -> B::Storage {
    let (rows, g) = (s.batch * s.steps, gates * s.hidden);
    // `b_ih + b_hh` once, then one pass over the rows.
    let summed = with_hh_bias.then(|| {
        let mut b = w.bias_ih.clone();
        B::axpy(<B::Elem as num_traits::One>::one(), w.bias_hh.storage(), b.storage_mut());
        b
    });
    let bias = summed.as_ref().unwrap_or(&w.bias_ih);
    match input {
        Source::Rows(x) => {
            let mut pre = B::scratch_like(x, rows * g);
            B::matmul(
                x,
                w.weight_ih.storage(),
                &mut pre,
                Gemm::new(rows, s.width, g).transpose_b(),
            );
            B::add_bias(&mut pre, bias.storage(), rows, g);
            pre
        }
        Source::Table(ids, None) => {
            let mut pre = B::scratch_like(w.bias_ih.storage(), rows * g);
            B::gather_rows(&B::zeros_like(w.bias_ih.storage(), 0), ids, &mut pre, g);
            pre
        }
        Source::Table(ids, Some(t)) => {
            // Row `id` of `table·W_ihᵀ + b` is the projection of every token `id`: `vocab` rows
            // projected instead of `steps·batch`.
            let mut projected = B::scratch_like(t.values, t.vocab * g);
            B::matmul(
                t.values,
                w.weight_ih.storage(),
                &mut projected,
                Gemm::new(t.vocab, s.width, g).transpose_b(),
            );
            B::add_bias(&mut projected, bias.storage(), t.vocab, g);
            let mut pre = B::scratch_like(t.values, rows * g);
            B::gather_rows(&projected, ids, &mut pre, g);
            pre
        }
    }
}

/// The weights' gradients and the input side's gradient from the gate pre-activations'
/// gradients of all steps: `dpre` on the input side, `drec` on the recurrent side (`None`: the
/// same as `dpre`), `h_prev` the states before each step.
pub(crate) fn project_backward<B: Backend>(
    w: &RecurrentWeights<B>,
    input: Source<'_, B>,
    (dpre, drec, h_prev): (&B::Storage, Option<&B::Storage>, &B::Storage),
    gates: usize,
    s: DirSizes,
) -> (InputGrad<B>, RecurrentWeights<B>) {
    let (rows, g) = (s.batch * s.steps, gates * s.hidden);
    let mut grads = w.zeros_like();
    B::sum_rows(dpre, grads.bias_ih.storage_mut(), rows, g);
    let drec = match drec {
        Some(d) => {
            B::sum_rows(d, grads.bias_hh.storage_mut(), rows, g);
            d
        }
        None => {
            // Both biases are added to the same pre-activations: equal gradients, summed once.
            grads.bias_hh = grads.bias_ih.clone();
            dpre
        }
    };
    B::matmul(
        drec,
        h_prev,
        grads.weight_hh.storage_mut(),
        Gemm::new(g, rows, s.hidden).transpose_a(),
    );
    let d_input = match input {
        Source::Rows(x) => {
            B::matmul(
                dpre,
                x,
                grads.weight_ih.storage_mut(),
                Gemm::new(g, rows, s.width).transpose_a(),
            );
            let mut dx = B::scratch_like(dpre, rows * s.width);
            B::matmul(dpre, w.weight_ih.storage(), &mut dx, Gemm::new(rows, g, s.width));
            InputGrad::Rows(dx)
        }
        Source::Table(ids, t) => {
            // `dpre` summed per id (`[vocab, g]`): `dW_ih = per_idᵀ·table` and the table's
            // gradient `per_id·W_ih`, instead of two products over every token.
            let Some(t) = t else {
                return (InputGrad::Table(B::zeros_like(dpre, 0)), grads);
            };
            let vocab = t.vocab;
            let mut per_id = B::zeros_like(dpre, vocab * g);
            B::scatter_add_rows(dpre, ids, &mut per_id, g);
            B::matmul(
                &per_id,
                t.values,
                grads.weight_ih.storage_mut(),
                Gemm::new(g, vocab, s.width).transpose_a(),
            );
            let mut dtable = B::scratch_like(dpre, vocab * s.width);
            B::matmul(&per_id, w.weight_ih.storage(), &mut dtable, Gemm::new(vocab, g, s.width));
            InputGrad::Table(dtable)
        }
    };
    (d_input, grads)
}
