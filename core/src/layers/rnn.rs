//! `Rnn<I, H, O, LAYERS>` and `RnnRelu<…>`: PyTorch's `nn.RNN(I, H, num_layers,
//! nonlinearity='tanh' | 'relu', bidirectional, batch_first=True)` over a sequence batch, each
//! sample over its own length. This file holds the cells; the stacking, directions and lengths
//! live in `recurrent_layer.rs`.

use std::marker::PhantomData;

use crate::backend::{Backend, Gemm, RecurrentStep, RnnActivation, RnnGrads, RnnStepMut};
use crate::layers::recurrent::RecurrentWeights;
use crate::layers::recurrent_layer::{Cell, DirSizes, Recurrent};

/// A plain (Elman) recurrent layer, `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`, with `LAYERS`
/// stacked layers, bidirectional when `O = 2·H`: `weight_ih_l0 [H, I]`, `weight_hh_l0 [H, H]`,
/// the two biases, `…_reverse`, `…_l1`; every parameter uniform on `±1/√H`.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor};
/// use shapeflow_core::layers::Rnn;
/// use shapeflow_cpu::Cpu;
/// use typenum::{U2, U3};
/// let dev = Cpu::default();
/// let rnn = Rnn::<U2, U3, U3, 1, Cpu>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, Dyn, U2), Cpu>::from_sequences(&dev, &[vec![0.5; 4]]).unwrap();
/// assert_eq!(rnn.forward(&x).dims(), &[1, 2, 3]);
/// ```
pub type Rnn<I, H, O, const LAYERS: usize, B> = Recurrent<RnnCell<TanhAct>, I, H, O, LAYERS, B>;

/// [`Rnn`] with `nonlinearity='relu'`.
pub type RnnRelu<I, H, O, const LAYERS: usize, B> = Recurrent<RnnCell<ReluAct>, I, H, O, LAYERS, B>;

/// A plain recurrent cell with the nonlinearity `A`.
pub struct RnnCell<A>(PhantomData<A>);

/// The nonlinearity of a plain recurrent cell, as a type.
pub trait RnnNonlinearity: Send + Sync + 'static {
    /// The kernels' code for it.
    const ACT: RnnActivation;
    /// The layer's name in `Debug` output.
    const NAME: &'static str;
}

/// `tanh`.
pub struct TanhAct;
/// `relu`.
pub struct ReluAct;

impl RnnNonlinearity for TanhAct {
    const ACT: RnnActivation = RnnActivation::Tanh;
    const NAME: &'static str = "Rnn";
}

impl RnnNonlinearity for ReluAct {
    const ACT: RnnActivation = RnnActivation::Relu;
    const NAME: &'static str = "RnnRelu";
}

impl<A: RnnNonlinearity> Cell for RnnCell<A> {
    const GATES: usize = 1;
    const NAME: &'static str = A::NAME;
    const HH_BIAS_IN_PROJECTION: bool = true;

    fn forward<B: Backend>(
        w: &RecurrentWeights<B>,
        pre: &B::Storage,
        lengths: &B::Storage,
        s: DirSizes,
    ) -> (B::Storage, Vec<B::Storage>) {
        let DirSizes { batch, steps, hidden, .. } = s;
        let rows = batch * steps;
        let mut h = B::zeros_like(pre, batch * hidden);
        let mut rec = B::zeros_like(pre, batch * hidden);
        let mut y = B::scratch_like(pre, rows * hidden);
        let mut out = B::scratch_like(pre, rows * hidden);
        let mut h_prev = B::scratch_like(pre, rows * hidden);
        for step in 0..steps {
            if step > 0 {
                B::matmul(
                    &h,
                    w.weight_hh.storage(),
                    &mut rec,
                    Gemm::new(batch, hidden, hidden).transpose_b(),
                );
            }
            let g = RecurrentStep { step, batch, hidden };
            let io = RnnStepMut { h: &mut h, y: &mut y, out: &mut out, h_prev: &mut h_prev };
            B::rnn_step(g, A::ACT, pre, &rec, lengths, io);
        }
        (y, vec![out, h_prev])
    }

    fn backward<B: Backend>(
        w: &RecurrentWeights<B>,
        saved: &[B::Storage],
        dy: &B::Storage,
        lengths: &B::Storage,
        s: DirSizes,
    ) -> (B::Storage, Option<B::Storage>) {
        let DirSizes { batch, steps, hidden, .. } = s;
        let rows = batch * steps;
        let [out, _h_prev] = saved else {
            return (B::zeros_like(dy, rows * hidden), None);
        };
        let mut dh = B::zeros_like(dy, batch * hidden);
        let mut dpre = B::scratch_like(dy, rows * hidden);
        let mut dgates = B::scratch_like(dy, batch * hidden);
        for step in (0..steps).rev() {
            let g = RecurrentStep { step, batch, hidden };
            let grads = RnnGrads { dh: &mut dh, dpre: &mut dpre, dgates: &mut dgates };
            B::rnn_step_backward(g, A::ACT, lengths, out, dy, grads);
            if step > 0 {
                B::matmul(
                    &dgates,
                    w.weight_hh.storage(),
                    &mut dh,
                    Gemm::new(batch, hidden, hidden).accumulate(),
                );
            }
        }
        (dpre, None)
    }
}
