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
use crate::layers::recurrent_projection::{
    DirInput, InputGrad, Source, TableRef, project, project_backward,
};
use crate::module::{Module, VisitFn, VisitGradsFn, VisitMutFn};
use crate::rng::Rng;
use crate::seq::Lengths;
use crate::tensor::Tensor;

/// What one layer and direction keeps for backward, all time-major: its input (reversed for
/// the reverse direction) and the buffers its cell saved.
pub struct DirCache<B: Backend> {
    /// The direction's input, `[steps, batch, in]`, or its rows of an embedding table.
    pub input: DirInput<B>,
    /// What the cell's steps saved (gates, states before each step last).
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
/// all steps from the input projection (`lengths` holds each sample's length as values, for
/// the step kernels).
pub trait Cell: Send + Sync + 'static {
    /// Gate blocks in the weights (4 for an LSTM, 3 for a GRU, 1 for a plain RNN).
    const GATES: usize;
    /// The layer's name in `Debug` output.
    const NAME: &'static str;
    /// Whether `b_hh` is added with the input projection (LSTM, RNN) rather than to each step's
    /// recurrent product (GRU, where the reset gate scales it).
    const HH_BIAS_IN_PROJECTION: bool;
    /// The direction's output `[steps, batch, hidden]` from every step's input projection `pre`
    /// (`[steps·batch, GATES·hidden]`), and what backward needs (the states before each step
    /// last).
    fn forward<B: Backend>(
        w: &RecurrentWeights<B>,
        pre: &B::Storage,
        lengths: &B::Storage,
        s: DirSizes,
    ) -> (B::Storage, Vec<B::Storage>);
    /// The gradients of every step's input projection and of its recurrent product's
    /// pre-activations (`None` where those are the same, as for an LSTM).
    fn backward<B: Backend>(
        w: &RecurrentWeights<B>,
        saved: &[B::Storage],
        dy: &B::Storage,
        lengths: &B::Storage,
        s: DirSizes,
    ) -> (B::Storage, Option<B::Storage>);
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

/// The first layer's input, time-major: rows, or rows of an embedding table by index.
pub(crate) enum FirstInput<'a, B: Backend> {
    Rows(B::Storage),
    Table(Vec<usize>, TableRef<'a, B>),
}

/// The input gradient the first layer sends back: of the rows (time-major) or of the table.
pub(crate) type FirstGrad<B> = InputGrad<B>;

impl<C: Cell, I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend>
    Recurrent<C, I, H, O, L, B>
{
    fn run<N: Dim, T: Dim>(
        &self,
        x: &Tensor<(N, T, I), B>,
    ) -> (Tensor<(N, T, O), B>, RecurrentCache<B>) {
        let (batch, steps) = (x.dims()[0], x.dims()[1]);
        let input = swap_axes::<B>(x.storage(), batch, steps, I::N);
        let (y, cache) = self.run_time_major(
            FirstInput::Rows(input),
            x.step_lengths(),
            x.lengths(),
            batch,
            steps,
        );
        let mut out = Tensor::from_parts(y, dims(&[batch, steps, O::N]));
        out.lengths = x.lengths().cloned();
        (out, cache)
    }

    /// Every layer and direction over a time-major input; the output batch-first `[batch,
    /// steps, O]`.
    pub(crate) fn run_time_major(
        &self,
        first: FirstInput<'_, B>,
        lengths: Vec<usize>,
        kept: Option<&Lengths>,
        batch: usize,
        steps: usize,
    ) -> (B::Storage, RecurrentCache<B>) {
        let (dirs, hidden) = (Self::DIRS, H::N);
        let lens: Vec<B::Elem> =
            lengths.iter().map(|&l| <B::Elem as crate::Elem>::from_f64(l as f64)).collect();
        let (mut input, table) = match first {
            FirstInput::Rows(x) => (DirInput::Rows(x), None),
            FirstInput::Table(ids, t) => (DirInput::Table(ids), Some(t)),
        };
        // On the layer's device (any of its buffers says which).
        let lengths_buf = B::upload_like(self.cells[0].bias_ih.storage(), &lens);
        let mut caches = Vec::with_capacity(L * dirs);
        for layer in 0..L {
            let width = Self::input_size(layer);
            let sb = StepBatch { batch, steps, width };
            let table = if layer == 0 { table } else { None };
            // Each direction's input: the layer's (moved), and for the reverse direction each
            // sample's valid steps reversed.
            let inputs = if dirs == 2 {
                let rev = match &input {
                    DirInput::Rows(x) => DirInput::Rows(reversed::<B>(x, &lengths, sb)),
                    DirInput::Table(ids) => DirInput::Table(reversed_ids(ids, &lengths, sb)),
                };
                vec![input, rev]
            } else {
                vec![input]
            };
            let mut outs = Vec::with_capacity(dirs);
            for (d, inp) in inputs.into_iter().enumerate() {
                let w = &self.cells[layer * dirs + d];
                let s = DirSizes { batch, steps, width, hidden };
                let src = source(&inp, table);
                let pre = project(w, src, (C::GATES, C::HH_BIAS_IN_PROJECTION), s);
                let (mut y, saved) = C::forward(w, &pre, &lengths_buf, s);
                if d == 1 {
                    y = reversed::<B>(&y, &lengths, StepBatch { width: hidden, ..sb });
                }
                outs.push(y);
                caches.push(DirCache { input: inp, saved });
            }
            input = DirInput::Rows(match outs.as_slice() {
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
                _ => outs.pop().unwrap_or_else(|| B::zeros_like(&lengths_buf, 0)),
            });
        }
        let last = match input {
            DirInput::Rows(x) => x,
            DirInput::Table(_) => B::zeros_like(&lengths_buf, batch * steps * O::N),
        };
        let y = swap_axes::<B>(&last, steps, batch, O::N);
        let cache = RecurrentCache {
            cells: caches,
            lengths,
            kept: kept.cloned(),
            lengths_buf,
            batch,
            steps,
        };
        (y, cache)
    }

    /// The backward of [`Self::run_time_major`] from the output gradient (batch-first): the
    /// first layer's input gradient and the weights' gradients. `table` is the embedding
    /// table the first layer read (when it read one).
    pub(crate) fn backward_time_major(
        &self,
        cache: &RecurrentCache<B>,
        (dy, dy_dims): (&B::Storage, &[usize]),
        table: Option<TableRef<'_, B>>,
    ) -> Result<(FirstGrad<B>, Self)> {
        let (batch, steps, dirs, hidden) = (cache.batch, cache.steps, Self::DIRS, H::N);
        if dy_dims != [batch, steps, O::N] {
            return Err(Error::Shape(format!(
                "{} backward: the output gradient has sizes {dy_dims:?} but the forward pass produced [{batch}, {steps}, {}]",
                C::NAME,
                O::N
            )));
        }
        let mut grads: Vec<Option<RecurrentWeights<B>>> = (0..L * dirs).map(|_| None).collect();
        let mut next = Some(swap_axes::<B>(dy, batch, steps, O::N));
        let mut first: Option<FirstGrad<B>> = None;
        for layer in (0..L).rev() {
            let Some(d_out) = next.take() else { break };
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
            let mut d_in: Option<FirstGrad<B>> = None;
            for (d, part) in parts.into_iter().enumerate() {
                let i = layer * dirs + d;
                let (w, c) = (&self.cells[i], &cache.cells[i]);
                let dpart = if d == 1 { reversed::<B>(&part, &cache.lengths, sb) } else { part };
                let s = DirSizes { batch, steps, width, hidden };
                let (dpre, drec) = C::backward(w, &c.saved, &dpart, &cache.lengths_buf, s);
                let Some(h_prev) = c.saved.last() else {
                    return Err(Error::Shape(format!("{} backward: an empty cache", C::NAME)));
                };
                let src = match (&c.input, table) {
                    (DirInput::Rows(x), _) => Source::Rows(x),
                    (DirInput::Table(ids), Some(t)) => Source::Table(ids, Some(t)),
                    (DirInput::Table(_), None) => {
                        return Err(Error::Shape(format!(
                            "{} backward: the forward pass read an embedding table (the fused \
                             `Embedding` → `{}` pass); call its backward, not the layer's alone",
                            C::NAME,
                            C::NAME
                        )));
                    }
                };
                let (dx, g) = project_backward(w, src, (&dpre, drec.as_ref(), h_prev), C::GATES, s);
                let dx = match dx {
                    InputGrad::Rows(dx) if d == 1 => InputGrad::Rows(reversed::<B>(
                        &dx,
                        &cache.lengths,
                        StepBatch { width, ..sb },
                    )),
                    other => other,
                };
                grads[i] = Some(g);
                // Both directions read the same input: their gradients add up.
                d_in = Some(match d_in {
                    None => dx,
                    Some(acc) => acc.add(&dx),
                });
            }
            match d_in {
                Some(InputGrad::Rows(d)) if layer > 0 => next = Some(d),
                Some(g) if layer == 0 => first = Some(g),
                _ => {
                    return Err(Error::Shape(format!(
                        "{} backward: layer {layer} has no input gradient",
                        C::NAME
                    )));
                }
            }
        }
        let first =
            first.ok_or_else(|| Error::Shape(format!("{} backward: no layers", C::NAME)))?;
        let cells = grads
            .into_iter()
            .zip(&self.cells)
            .map(|(g, w)| g.unwrap_or_else(|| w.zeros_like()))
            .collect();
        Ok((first, Self::with_cells(cells)))
    }
}

/// A direction's input with the table it indexes (only the first layer's reads one).
fn source<'a, B: Backend>(input: &'a DirInput<B>, table: Option<TableRef<'a, B>>) -> Source<'a, B> {
    match input {
        DirInput::Rows(x) => Source::Rows(x),
        DirInput::Table(ids) => Source::Table(ids, table),
    }
}

/// Each sample's valid steps of time-major table indices reversed; padded steps `usize::MAX`.
fn reversed_ids(ids: &[usize], lengths: &[usize], g: StepBatch) -> Vec<usize> {
    let StepBatch { batch, steps, .. } = g;
    let mut out = vec![usize::MAX; ids.len()];
    for (n, &len) in lengths.iter().enumerate().take(batch) {
        let len = len.min(steps);
        for t in 0..len {
            if let (Some(o), Some(&v)) =
                (out.get_mut(t * batch + n), ids.get((len - 1 - t) * batch + n))
            {
                *o = v;
            }
        }
    }
    out
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
        let (batch, steps) = (cache.batch, cache.steps);
        let (first, grads) = self.backward_time_major(cache, (dy.storage(), dy.dims()), None)?;
        let InputGrad::Rows(d_in) = first else {
            return Err(Error::Shape(format!("{} backward: expected an input gradient", C::NAME)));
        };
        let dx = swap_axes::<B>(&d_in, steps, batch, I::N);
        let mut dx = Tensor::from_parts(dx, dims(&[batch, steps, I::N]));
        dx.lengths = cache.kept.clone();
        Ok((dx, grads))
    }
}
