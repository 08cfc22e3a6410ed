//! `Recurrent<C, I, H, O, LAYERS>`: the stacked, optionally bidirectional recurrent layer over a
//! sequence batch `[batch, steps, I]` → `[batch, steps, O]` shared by `Lstm`, `Gru` and `Rnn`,
//! whose cells (`C`) differ only in their step and what it saves. Each layer and direction runs
//! time-major: one input projection for all steps, then per step a product with the recurrent
//! weights and the cell kernel; the reverse direction runs on each sample's valid steps reversed.

use std::marker::PhantomData;

use crate::backend::{Backend, Joined, StepBatch};
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::layers::recurrent::{
    RecurrentWeights, dims, reversed, swap_axes, visit_cells, visit_cells_mut,
    visit_cells_with_grads,
};
use crate::module::{Module, VisitFn, VisitGradsFn, VisitMutFn};
use crate::rng::Rng;
use crate::seq::Lengths;
use crate::tensor::Tensor;

/// What one layer and direction keeps for backward, all time-major: its input (reversed for
/// the reverse direction) and the buffers its cell saved.
pub struct DirCache<B: Backend> {
    /// The direction's input, `[steps, batch, in]`.
    pub input: B::Storage,
    /// What the cell's steps saved (gates, states before each step).
    pub saved: Vec<B::Storage>,
}

/// The sizes one direction runs at.
#[derive(Clone, Copy, Debug)]
pub struct DirSizes {
    /// Samples.
    pub batch: usize,
    /// Padded steps.
    pub steps: usize,
    /// Input values per step.
    pub width: usize,
    /// Hidden units.
    pub hidden: usize,
}

/// A recurrent cell: its number of gate blocks and one direction's forward and backward over
/// all steps (`lengths` holds each sample's length as values, for the step kernels).
pub trait Cell: Send + Sync + 'static {
    /// Gate blocks in the weights (4 for an LSTM, 3 for a GRU, 1 for a plain RNN).
    const GATES: usize;
    /// The layer's name in `Debug` output.
    const NAME: &'static str;
    /// The direction's output `[steps, batch, hidden]` and what backward needs.
    fn forward<B: Backend>(
        w: &RecurrentWeights<B>,
        input: B::Storage,
        lengths: &B::Storage,
        s: DirSizes,
    ) -> (B::Storage, DirCache<B>);
    /// The direction's input gradient (time-major) and its weights' gradients.
    fn backward<B: Backend>(
        w: &RecurrentWeights<B>,
        cache: &DirCache<B>,
        dy: &B::Storage,
        lengths: &B::Storage,
        s: DirSizes,
    ) -> (B::Storage, RecurrentWeights<B>);
}

/// A stacked recurrent layer of `LAYERS` layers with cell `C`, bidirectional when `O = 2·H`,
/// batch first, parameters under PyTorch's names (`weight_ih_l0`, …, `bias_hh_l1_reverse`).
/// Use it through [`Lstm`](crate::layers::Lstm), [`Gru`](crate::layers::Gru) or
/// [`Rnn`](crate::layers::Rnn).
pub struct Recurrent<
    C: Cell,
    I: StaticDim,
    H: StaticDim,
    O: StaticDim,
    const LAYERS: usize,
    B: Backend,
> {
    /// The weights of each layer and direction, in PyTorch's order (`l0`, `l0_reverse`, `l1`…).
    pub cells: Vec<RecurrentWeights<B>>,
    _kind: PhantomData<(C, I, H, O)>,
}

impl<C: Cell, I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend>
    Recurrent<C, I, H, O, L, B>
{
    /// 1, or 2 when bidirectional; a compile-time error unless `O` is `H` or `2·H`.
    const DIRS: usize = {
        assert!(
            O::N == H::N || O::N == 2 * H::N,
            "a recurrent layer's output size O must be H or 2·H"
        );
        assert!(L >= 1, "a recurrent layer has at least one layer");
        O::N / H::N
    };

    fn input_size(layer: usize) -> usize {
        if layer == 0 { I::N } else { O::N }
    }

    fn with_cells(cells: Vec<RecurrentWeights<B>>) -> Self {
        Recurrent { cells, _kind: PhantomData }
    }
}

impl<C: Cell, I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend> Clone
    for Recurrent<C, I, H, O, L, B>
{
    fn clone(&self) -> Self {
        Self::with_cells(self.cells.clone())
    }
}

impl<C: Cell, I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend> std::fmt::Debug
    for Recurrent<C, I, H, O, L, B>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bi = if Self::DIRS == 2 { ", bidirectional" } else { "" };
        write!(f, "{}({} -> {}, {L} layers{bi})", C::NAME, I::N, H::N)
    }
}

impl<C: Cell, I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend> Init<B>
    for Recurrent<C, I, H, O, L, B>
{
    fn init(dev: &B, rng: &mut Rng) -> Self {
        let dirs = Self::DIRS;
        let cells = (0..L * dirs)
            .map(|i| RecurrentWeights::init(dev, rng, C::GATES, Self::input_size(i / dirs), H::N))
            .collect();
        Self::with_cells(cells)
    }
}

impl<C: Cell, I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend> Module<B>
    for Recurrent<C, I, H, O, L, B>
{
    fn visit_params(&self, path: &mut String, f: &mut VisitFn<'_, B>) {
        visit_cells(&self.cells, Self::DIRS, path, f);
    }
    fn visit_params_mut(&mut self, path: &mut String, f: &mut VisitMutFn<'_, B>) {
        visit_cells_mut(&mut self.cells, Self::DIRS, path, f);
    }
    fn visit_params_with_grads(
        &mut self,
        grads: &Self,
        path: &mut String,
        f: &mut VisitGradsFn<'_, B>,
    ) {
        visit_cells_with_grads(&mut self.cells, &grads.cells, Self::DIRS, path, f);
    }
}

/// What a recurrent layer's forward pass keeps for its backward pass.
pub struct RecurrentCache<B: Backend> {
    cells: Vec<DirCache<B>>,
    lengths: Vec<usize>,
    kept: Option<Lengths>,
    lengths_buf: B::Storage,
    batch: usize,
    steps: usize,
}

impl<C: Cell, I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend>
    Recurrent<C, I, H, O, L, B>
{
    fn run<N: Dim, T: Dim>(
        &self,
        x: &Tensor<(N, T, I), B>,
    ) -> (Tensor<(N, T, O), B>, RecurrentCache<B>) {
        let (dirs, hidden) = (Self::DIRS, H::N);
        let (batch, steps) = (x.dims()[0], x.dims()[1]);
        let lengths = x.step_lengths();
        let lens: Vec<B::Elem> =
            lengths.iter().map(|&l| <B::Elem as crate::Elem>::from_f64(l as f64)).collect();
        let lengths_buf = B::upload_like(x.storage(), &lens);
        let mut input = swap_axes::<B>(x.storage(), batch, steps, I::N);
        let mut caches = Vec::with_capacity(L * dirs);
        for layer in 0..L {
            let width = Self::input_size(layer);
            let sb = StepBatch { batch, steps, width };
            let mut outs = Vec::with_capacity(dirs);
            // Each direction's input: the layer's (moved), and for the reverse direction each
            // sample's valid steps reversed.
            let inputs = if dirs == 2 {
                let rev = reversed::<B>(&input, &lengths, sb);
                vec![input, rev]
            } else {
                vec![input]
            };
            for (d, inp) in inputs.into_iter().enumerate() {
                let w = &self.cells[layer * dirs + d];
                let (mut y, c) =
                    C::forward(w, inp, &lengths_buf, DirSizes { batch, steps, width, hidden });
                if d == 1 {
                    y = reversed::<B>(&y, &lengths, StepBatch { width: hidden, ..sb });
                }
                outs.push(y);
                caches.push(c);
            }
            input = match outs.as_slice() {
                [a, b] => {
                    let mut j = B::scratch_like(a, batch * steps * 2 * hidden);
                    B::concat_rows(
                        a,
                        b,
                        &mut j,
                        Joined { rows: batch * steps, left: hidden, right: hidden },
                    );
                    j
                }
                _ => outs.pop().unwrap_or_else(|| B::zeros_like(x.storage(), 0)),
            };
        }
        let y = swap_axes::<B>(&input, steps, batch, O::N);
        let mut out = Tensor::from_parts(y, dims(&[batch, steps, O::N]));
        out.lengths = x.lengths().cloned();
        let kept = x.lengths().cloned();
        (out, RecurrentCache { cells: caches, lengths, kept, lengths_buf, batch, steps })
    }
}

impl<N: Dim, T: Dim, C: Cell, I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend>
    Layer<(N, T, I), B> for Recurrent<C, I, H, O, L, B>
{
    type Output = (N, T, O);
    type Cache = RecurrentCache<B>;

    fn forward(&self, x: &Tensor<(N, T, I), B>) -> Tensor<(N, T, O), B> {
        self.run(x).0
    }

    fn forward_train(
        &mut self,
        x: &Tensor<(N, T, I), B>,
    ) -> (Tensor<(N, T, O), B>, RecurrentCache<B>) {
        self.run(x)
    }

    fn backward(
        &self,
        cache: &RecurrentCache<B>,
        dy: &Tensor<(N, T, O), B>,
    ) -> Result<(Tensor<(N, T, I), B>, Self)> {
        let (batch, steps, dirs, hidden) = (cache.batch, cache.steps, Self::DIRS, H::N);
        if dy.dims() != [batch, steps, O::N] {
            return Err(Error::Shape(format!(
                "{} backward: the output gradient has sizes {:?} but the forward pass produced [{batch}, {steps}, {}]",
                C::NAME,
                dy.dims(),
                O::N
            )));
        }
        let mut grads: Vec<Option<RecurrentWeights<B>>> = (0..L * dirs).map(|_| None).collect();
        let mut d_out = swap_axes::<B>(dy.storage(), batch, steps, O::N);
        for layer in (0..L).rev() {
            let width = Self::input_size(layer);
            let sb = StepBatch { batch, steps, width: hidden };
            let parts: Vec<B::Storage> = if dirs == 2 {
                let mut a = B::scratch_like(&d_out, batch * steps * hidden);
                let mut b = B::scratch_like(&d_out, batch * steps * hidden);
                B::split_rows(
                    &d_out,
                    &mut a,
                    &mut b,
                    Joined { rows: batch * steps, left: hidden, right: hidden },
                );
                vec![a, b]
            } else {
                vec![d_out]
            };
            let mut d_in: Option<B::Storage> = None;
            for (d, part) in parts.into_iter().enumerate() {
                let i = layer * dirs + d;
                let dpart = if d == 1 { reversed::<B>(&part, &cache.lengths, sb) } else { part };
                let (mut dx, g) = C::backward(
                    &self.cells[i],
                    &cache.cells[i],
                    &dpart,
                    &cache.lengths_buf,
                    DirSizes { batch, steps, width, hidden },
                );
                if d == 1 {
                    dx = reversed::<B>(&dx, &cache.lengths, StepBatch { width, ..sb });
                }
                grads[i] = Some(g);
                d_in = Some(match d_in {
                    None => dx,
                    Some(mut acc) => {
                        B::axpy(<B::Elem as num_traits::One>::one(), &dx, &mut acc);
                        acc
                    }
                });
            }
            d_out = d_in.unwrap_or_else(|| B::zeros_like(dy.storage(), batch * steps * width));
        }
        let dx = swap_axes::<B>(&d_out, steps, batch, I::N);
        let mut dx = Tensor::from_parts(dx, dims(&[batch, steps, I::N]));
        dx.lengths = cache.kept.clone();
        let cells = grads
            .into_iter()
            .zip(&self.cells)
            .map(|(g, w)| g.unwrap_or_else(|| w.zeros_like()))
            .collect();
        Ok((dx, Self::with_cells(cells)))
    }
}

/// Every step's input projection, `input · W_ihᵀ + b_ih` (`[steps·batch, gates·hidden]`), with
/// `b_hh` added too when the cell adds it outside the recurrent product (LSTM, RNN).
pub(crate) fn input_projection<B: Backend>(
    w: &RecurrentWeights<B>,
    input: &B::Storage,
    gates: usize,
    s: DirSizes,
    with_hh_bias: bool,
) -> B::Storage {
    let (rows, g) = (s.batch * s.steps, gates * s.hidden);
    let mut pre = B::scratch_like(input, rows * g);
    B::matmul(
        input,
        w.weight_ih.storage(),
        &mut pre,
        crate::backend::Gemm::new(rows, s.width, g).transpose_b(),
    );
    B::add_bias(&mut pre, w.bias_ih.storage(), rows, g);
    if with_hh_bias {
        B::add_bias(&mut pre, w.bias_hh.storage(), rows, g);
    }
    pre
}

/// The weights' gradients and the direction's input gradient from the gates' pre-activation
/// gradients of all steps: `dpre` on the input side, `drec` on the recurrent side (the same
/// buffer for cells whose two sides share them), `h_prev` the states before each step.
pub(crate) fn projection_grads<B: Backend>(
    w: &RecurrentWeights<B>,
    input: &B::Storage,
    (dpre, drec, h_prev): (&B::Storage, &B::Storage, &B::Storage),
    gates: usize,
    s: DirSizes,
) -> (B::Storage, RecurrentWeights<B>) {
    use crate::backend::Gemm;
    let (rows, g) = (s.batch * s.steps, gates * s.hidden);
    let mut grads = w.zeros_like();
    B::matmul(
        dpre,
        input,
        grads.weight_ih.storage_mut(),
        Gemm::new(g, rows, s.width).transpose_a(),
    );
    B::matmul(
        drec,
        h_prev,
        grads.weight_hh.storage_mut(),
        Gemm::new(g, rows, s.hidden).transpose_a(),
    );
    B::sum_rows(dpre, grads.bias_ih.storage_mut(), rows, g);
    B::sum_rows(drec, grads.bias_hh.storage_mut(), rows, g);
    let mut dx = B::scratch_like(dpre, rows * s.width);
    B::matmul(dpre, w.weight_ih.storage(), &mut dx, Gemm::new(rows, g, s.width));
    (dx, grads)
}
