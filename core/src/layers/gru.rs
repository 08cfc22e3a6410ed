//! `Gru<I, H, O, LAYERS>`: PyTorch's `nn.GRU(I, H, num_layers, bidirectional, batch_first=True)`
//! over a sequence batch, each sample over its own length. This file holds the GRU cell; the
//! stacking, directions and lengths live in `recurrent_layer.rs`.

use crate::backend::{Backend, Gemm, GruGrads, GruSaved, GruSavedMut, RecurrentStep};
use crate::layers::recurrent::RecurrentWeights;
use crate::layers::recurrent_layer::{Cell, DirSizes, Recurrent};

/// A gated recurrent unit layer with `LAYERS` stacked layers, bidirectional when `O = 2·H`,
/// batch first: gates in PyTorch's order (reset, update, new), `weight_ih_l0 [3H, I]`,
/// `weight_hh_l0 [3H, H]`, `bias_ih_l0`, `bias_hh_l0`, `…_reverse`, `…_l1`; every parameter
/// uniform on `±1/√H`. Padded steps output zeros and never reach a gradient.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor};
/// use shapeflow_core::layers::Gru;
/// use shapeflow_cpu::Cpu;
/// use typenum::{U3, U4};
/// let dev = Cpu::default();
/// let gru = Gru::<U3, U4, U4, 1, Cpu>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, Dyn, U3), Cpu>::from_sequences(&dev, &[vec![0.5; 6], vec![1.0; 3]]).unwrap();
/// assert_eq!(gru.forward(&x).dims(), &[2, 2, 4]);
/// ```
pub type Gru<I, H, O, const LAYERS: usize, B> = Recurrent<GruCell, I, H, O, LAYERS, B>;

/// The GRU cell: `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z` alike, `n = tanh(W_in x + b_in +
/// r·(W_hn h + b_hn))`, `h' = (1 − z)·n + z·h`.
pub struct GruCell;

impl Cell for GruCell {
    const GATES: usize = 3;
    const NAME: &'static str = "Gru";
    const HH_BIAS_IN_PROJECTION: bool = false;

    fn forward<B: Backend>(
        w: &RecurrentWeights<B>,
        pre: &B::Storage,
        lengths: &B::Storage,
        s: DirSizes,
    ) -> (B::Storage, Vec<B::Storage>) {
        let DirSizes { batch, steps, hidden, .. } = s;
        let (rows, g3) = (batch * steps, 3 * hidden);
        let mut h = B::zeros_like(pre, batch * hidden);
        let mut rec = B::zeros_like(pre, batch * g3);
        let mut y = B::scratch_like(pre, rows * hidden);
        let mut gates = B::scratch_like(pre, rows * g3);
        let mut rec_n = B::scratch_like(pre, rows * hidden);
        let mut h_prev = B::scratch_like(pre, rows * hidden);
        for step in 0..steps {
            // rec = h·W_hhᵀ + b_hh (h is zero at the first step)
            if step > 0 {
                B::matmul(
                    &h,
                    w.weight_hh.storage(),
                    &mut rec,
                    Gemm::new(batch, hidden, g3).transpose_b(),
                );
            }
            B::add_bias(&mut rec, w.bias_hh.storage(), batch, g3);
            B::gru_step(
                RecurrentStep { step, batch, hidden },
                pre,
                &rec,
                lengths,
                &mut h,
                &mut y,
                GruSavedMut { gates: &mut gates, rec_n: &mut rec_n, h_prev: &mut h_prev },
            );
        }
        (y, vec![gates, rec_n, h_prev])
    }

    fn backward<B: Backend>(
        w: &RecurrentWeights<B>,
        saved: &[B::Storage],
        dy: &B::Storage,
        lengths: &B::Storage,
        s: DirSizes,
    ) -> (B::Storage, Option<B::Storage>) {
        let DirSizes { batch, steps, hidden, .. } = s;
        let (rows, g3) = (batch * steps, 3 * hidden);
        let [gates, rec_n, h_prev] = saved else {
            return (B::zeros_like(dy, rows * g3), None);
        };
        let mut dh = B::zeros_like(dy, batch * hidden);
        let mut dpre = B::scratch_like(dy, rows * g3);
        let mut drec_all = B::scratch_like(dy, rows * g3);
        let mut drec = B::scratch_like(dy, batch * g3);
        for step in (0..steps).rev() {
            B::gru_step_backward(
                RecurrentStep { step, batch, hidden },
                lengths,
                GruSaved { gates, rec_n, h_prev },
                dy,
                &mut dh,
                GruGrads { dpre: &mut dpre, drec_all: &mut drec_all, drec: &mut drec },
            );
            if step > 0 {
                B::matmul(
                    &drec,
                    w.weight_hh.storage(),
                    &mut dh,
                    Gemm::new(batch, g3, hidden).accumulate(),
                );
            }
        }
        (dpre, Some(drec_all))
    }
}
