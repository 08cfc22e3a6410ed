//! `Lstm<I, H, O, LAYERS>`: PyTorch's `nn.LSTM(I, H, num_layers, bidirectional, batch_first=True)`
//! over a sequence batch `[batch, steps, I]` → `[batch, steps, O]` (`O = H`, or `2·H` when
//! bidirectional), each sample run over its own length only.

use std::marker::PhantomData;

use crate::backend::StepBatch;
use crate::backend::{Backend, Gemm, Joined, LstmSaved, LstmSavedMut, LstmState, RecurrentStep};
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

/// A long short-term memory layer with `LAYERS` stacked layers, bidirectional when
/// `O = 2·H`, batch first.
///
/// Gates in PyTorch's order (input, forget, cell, output), parameters under PyTorch's names
/// (`weight_ih_l0 [4H, I]`, `weight_hh_l0 [4H, H]`, `bias_ih_l0`, `bias_hh_l0`, then
/// `…_reverse`, then `…_l1`), so a PyTorch `state_dict` loads as it is. Each sample runs over
/// its own length (the input's [`lengths`](Tensor::lengths)): its padded steps output zeros
/// and the reverse direction starts at its last valid step, as with PyTorch's packed
/// sequences. Initialised as PyTorch's: every parameter uniform on `±1/√H`.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor};
/// use shapeflow_core::layers::Lstm;
/// use shapeflow_cpu::Cpu;
/// use typenum::{U3, U4, U8};
/// let dev = Cpu::default();
/// let lstm = Lstm::<U3, U4, U8, 1, Cpu>::init(&dev, &mut Rng::new(0)); // bidirectional
/// let x = Tensor::<(Dyn, Dyn, U3), Cpu>::from_sequences(&dev, &[vec![0.5; 6], vec![1.0; 3]]).unwrap();
/// let y = lstm.forward(&x);
/// assert_eq!(y.dims(), &[2, 2, 8]);
/// assert_eq!(&y.to_vec()[24..], &[0.0; 8]); // the second sample's padded step
/// ```
pub struct Lstm<I: StaticDim, H: StaticDim, O: StaticDim, const LAYERS: usize, B: Backend> {
    /// The weights of each layer and direction, in PyTorch's order (`l0`, `l0_reverse`, `l1`…).
    pub cells: Vec<RecurrentWeights<B>>,
    _sizes: PhantomData<(I, H, O)>,
}

const GATES: usize = 4;

impl<I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend> Lstm<I, H, O, L, B> {
    /// 1, or 2 when bidirectional; a compile-time error unless `O` is `H` or `2·H`.
    const DIRS: usize = {
        assert!(O::N == H::N || O::N == 2 * H::N, "an Lstm's output size O must be H or 2·H");
        assert!(L >= 1, "an Lstm has at least one layer");
        O::N / H::N
    };

    fn input_size(layer: usize) -> usize {
        if layer == 0 { I::N } else { O::N }
    }
}

impl<I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend> Clone
    for Lstm<I, H, O, L, B>
{
    fn clone(&self) -> Self {
        Lstm { cells: self.cells.clone(), _sizes: PhantomData }
    }
}

impl<I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend> std::fmt::Debug
    for Lstm<I, H, O, L, B>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bi = if Self::DIRS == 2 { ", bidirectional" } else { "" };
        write!(f, "Lstm({} -> {}, {L} layers{bi})", I::N, H::N)
    }
}

impl<I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend> Init<B>
    for Lstm<I, H, O, L, B>
{
    fn init(dev: &B, rng: &mut Rng) -> Self {
        let dirs = Self::DIRS;
        let cells = (0..L * dirs)
            .map(|i| RecurrentWeights::init(dev, rng, GATES, Self::input_size(i / dirs), H::N))
            .collect();
        Lstm { cells, _sizes: PhantomData }
    }
}

impl<I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend> Module<B>
    for Lstm<I, H, O, L, B>
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

/// What one layer and direction keeps for backward, all time-major.
struct DirCache<B: Backend> {
    /// The direction's input (reversed for the reverse direction), `[steps, batch, in]`.
    input: B::Storage,
    gates: B::Storage,
    c_prev: B::Storage,
    h_prev: B::Storage,
}

/// What the LSTM's forward pass keeps for its backward pass.
pub struct LstmCache<B: Backend> {
    cells: Vec<DirCache<B>>,
    lengths: Vec<usize>,
    kept: Option<Lengths>,
    lengths_buf: B::Storage,
    batch: usize,
    steps: usize,
}

/// One direction over a time-major input: returns its output `[steps, batch, H]` and cache.
fn run_direction<B: Backend>(
    w: &RecurrentWeights<B>,
    input: B::Storage,
    width: usize,
    hidden: usize,
    lengths_buf: &B::Storage,
    (batch, steps): (usize, usize),
) -> (B::Storage, DirCache<B>) {
    let (rows, g4) = (batch * steps, GATES * hidden);
    let mut pre = B::scratch_like(&input, rows * g4);
    B::matmul(&input, w.weight_ih.storage(), &mut pre, Gemm::new(rows, width, g4).transpose_b());
    B::add_bias(&mut pre, w.bias_ih.storage(), rows, g4);
    B::add_bias(&mut pre, w.bias_hh.storage(), rows, g4);
    let mut h = B::zeros_like(&input, batch * hidden);
    let mut c = B::zeros_like(&input, batch * hidden);
    let mut rec = B::zeros_like(&input, batch * g4);
    let mut y = B::scratch_like(&input, rows * hidden);
    let mut gates = B::scratch_like(&input, rows * g4);
    let mut c_prev = B::scratch_like(&input, rows * hidden);
    let mut h_prev = B::scratch_like(&input, rows * hidden);
    for step in 0..steps {
        if step > 0 {
            B::matmul(
                &h,
                w.weight_hh.storage(),
                &mut rec,
                Gemm::new(batch, hidden, g4).transpose_b(),
            );
        }
        B::lstm_step(
            RecurrentStep { step, batch, hidden },
            &pre,
            &rec,
            lengths_buf,
            LstmState { h: &mut h, c: &mut c },
            &mut y,
            LstmSavedMut { gates: &mut gates, c_prev: &mut c_prev, h_prev: &mut h_prev },
        );
    }
    (y, DirCache { input, gates, c_prev, h_prev })
}

/// The backward of [`run_direction`]: the input gradient (time-major) and the weights'
/// gradients.
fn back_direction<B: Backend>(
    w: &RecurrentWeights<B>,
    cache: &DirCache<B>,
    dy: &B::Storage,
    (width, hidden): (usize, usize),
    lengths_buf: &B::Storage,
    (batch, steps): (usize, usize),
) -> (B::Storage, RecurrentWeights<B>) {
    let (rows, g4) = (batch * steps, GATES * hidden);
    let mut dh = B::zeros_like(dy, batch * hidden);
    let mut dc = B::zeros_like(dy, batch * hidden);
    let mut dpre = B::scratch_like(dy, rows * g4);
    let mut dgates = B::scratch_like(dy, batch * g4);
    for step in (0..steps).rev() {
        B::lstm_step_backward(
            RecurrentStep { step, batch, hidden },
            lengths_buf,
            LstmSaved { gates: &cache.gates, c_prev: &cache.c_prev },
            dy,
            LstmState { h: &mut dh, c: &mut dc },
            &mut dpre,
            &mut dgates,
        );
        if step > 0 {
            B::matmul(
                &dgates,
                w.weight_hh.storage(),
                &mut dh,
                Gemm::new(batch, g4, hidden).accumulate(),
            );
        }
    }
    let mut g = w.zeros_like();
    B::matmul(
        &dpre,
        &cache.input,
        g.weight_ih.storage_mut(),
        Gemm::new(g4, rows, width).transpose_a(),
    );
    B::matmul(
        &dpre,
        &cache.h_prev,
        g.weight_hh.storage_mut(),
        Gemm::new(g4, rows, hidden).transpose_a(),
    );
    B::sum_rows(&dpre, g.bias_ih.storage_mut(), rows, g4);
    B::sum_rows(&dpre, g.bias_hh.storage_mut(), rows, g4);
    let mut dx = B::scratch_like(dy, rows * width);
    B::matmul(&dpre, w.weight_ih.storage(), &mut dx, Gemm::new(rows, g4, width));
    (dx, g)
}

impl<I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend> Lstm<I, H, O, L, B> {
    fn run<N: Dim, T: Dim>(
        &self,
        x: &Tensor<(N, T, I), B>,
    ) -> (Tensor<(N, T, O), B>, LstmCache<B>) {
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
            for d in 0..dirs {
                let inp = if d == 1 {
                    reversed::<B>(&input, &lengths, sb)
                } else if dirs == 2 {
                    input.clone()
                } else {
                    std::mem::replace(&mut input, B::zeros_like(x.storage(), 0))
                };
                let w = &self.cells[layer * dirs + d];
                let (mut y, c) = run_direction(w, inp, width, hidden, &lengths_buf, (batch, steps));
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
        (out, LstmCache { cells: caches, lengths, kept, lengths_buf, batch, steps })
    }
}

impl<N: Dim, T: Dim, I: StaticDim, H: StaticDim, O: StaticDim, const L: usize, B: Backend>
    Layer<(N, T, I), B> for Lstm<I, H, O, L, B>
{
    type Output = (N, T, O);
    type Cache = LstmCache<B>;

    fn forward(&self, x: &Tensor<(N, T, I), B>) -> Tensor<(N, T, O), B> {
        self.run(x).0
    }

    fn forward_train(&mut self, x: &Tensor<(N, T, I), B>) -> (Tensor<(N, T, O), B>, LstmCache<B>) {
        self.run(x)
    }

    fn backward(
        &self,
        cache: &LstmCache<B>,
        dy: &Tensor<(N, T, O), B>,
    ) -> Result<(Tensor<(N, T, I), B>, Self)> {
        let (batch, steps, dirs, hidden) = (cache.batch, cache.steps, Self::DIRS, H::N);
        if dy.dims() != [batch, steps, O::N] {
            return Err(Error::Shape(format!(
                "Lstm backward: the output gradient has sizes {:?} but the forward pass produced [{batch}, {steps}, {}]",
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
                let (mut dx, g) = back_direction(
                    &self.cells[i],
                    &cache.cells[i],
                    &dpart,
                    (width, hidden),
                    &cache.lengths_buf,
                    (batch, steps),
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
        Ok((dx, Lstm { cells, _sizes: PhantomData }))
    }
}
