//! `Lstm<I, H, O, LAYERS>`: PyTorch's `nn.LSTM(I, H, num_layers, bidirectional, batch_first=True)`
//! over a sequence batch `[batch, steps, I]` → `[batch, steps, O]` (`O = H`, or `2·H` when
//! bidirectional), each sample run over its own length only. The stacking, directions and
//! lengths live in `recurrent_layer.rs`; this file holds the LSTM cell.

use crate::backend::{Backend, LstmSaved, LstmSavedMut, LstmState, StepBatch};
use crate::layers::recurrent::RecurrentWeights;
use crate::layers::recurrent_layer::{Cell, DirSizes, Recurrent};

/// A long short-term memory layer with `LAYERS` stacked layers, bidirectional when
/// `O = 2·H`, batch first.
///
/// Gates in PyTorch's order (input, forget, cell, output), parameters under PyTorch's names
/// (`weight_ih_l0 [4H, I]`, `weight_hh_l0 [4H, H]`, `bias_ih_l0`, `bias_hh_l0`, then
/// `…_reverse`, then `…_l1`), so a PyTorch `state_dict` loads as it is. Each sample runs over
/// its own length (the input's [`lengths`](crate::tensor::Tensor::lengths)): its padded steps output zeros
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
pub type Lstm<I, H, O, const LAYERS: usize, B> = Recurrent<LstmCell, I, H, O, LAYERS, B>;

/// The LSTM cell: gates input, forget, cell, output (`i, f, g, o`); `c' = f·c + i·g`,
/// `h' = o·tanh(c')`. Saves the activated gates and the states before each step.
pub struct LstmCell;

const GATES: usize = 4;

impl Cell for LstmCell {
    const GATES: usize = GATES;
    const NAME: &'static str = "Lstm";
    const HH_BIAS_IN_PROJECTION: bool = true;
    fn forward<B: Backend>(
        w: &RecurrentWeights<B>,
        pre: &B::Storage,
        lengths: &B::Storage,
        s: DirSizes,
    ) -> (B::Storage, Vec<B::Storage>) {
        forward(w, pre, lengths, s)
    }
    fn backward<B: Backend>(
        w: &RecurrentWeights<B>,
        saved: &[B::Storage],
        dy: &B::Storage,
        lengths: &B::Storage,
        s: DirSizes,
    ) -> (B::Storage, Option<B::Storage>) {
        (backward(w, saved, dy, lengths, s), None)
    }
}

fn forward<B: Backend>(
    w: &RecurrentWeights<B>,
    pre: &B::Storage,
    lengths_buf: &B::Storage,
    s: DirSizes,
) -> (B::Storage, Vec<B::Storage>) {
    let DirSizes { batch, steps, hidden, .. } = s;
    let (rows, g4) = (batch * steps, GATES * hidden);
    let mut h = B::zeros_like(pre, batch * hidden);
    let mut c = B::zeros_like(pre, batch * hidden);
    let mut y = B::scratch_like(pre, rows * hidden);
    let mut gates = B::scratch_like(pre, rows * g4);
    let mut c_prev = B::scratch_like(pre, rows * hidden);
    let mut h_prev = B::scratch_like(pre, rows * hidden);
    B::lstm_forward_steps(
        StepBatch { batch, steps, width: hidden },
        w.weight_hh.storage(),
        pre,
        lengths_buf,
        LstmState { h: &mut h, c: &mut c },
        &mut y,
        LstmSavedMut { gates: &mut gates, c_prev: &mut c_prev, h_prev: &mut h_prev },
    );
    (y, vec![gates, c_prev, h_prev])
}

/// The backward of [`forward`]: the gradient of every step's gate pre-activations
/// (`[steps·batch, 4·hidden]`, the input projection's and the recurrent product's alike).
fn backward<B: Backend>(
    w: &RecurrentWeights<B>,
    saved: &[B::Storage],
    dy: &B::Storage,
    lengths_buf: &B::Storage,
    s: DirSizes,
) -> B::Storage {
    let DirSizes { batch, steps, hidden, .. } = s;
    let (rows, g4) = (batch * steps, GATES * hidden);
    let [gates, c_prev, _h_prev] = saved else {
        return B::zeros_like(dy, rows * g4);
    };
    let mut dh = B::zeros_like(dy, batch * hidden);
    let mut dc = B::zeros_like(dy, batch * hidden);
    let mut dpre = B::scratch_like(dy, rows * g4);
    B::lstm_backward_steps(
        StepBatch { batch, steps, width: hidden },
        w.weight_hh.storage(),
        lengths_buf,
        LstmSaved { gates, c_prev },
        dy,
        LstmState { h: &mut dh, c: &mut dc },
        &mut dpre,
    );
    dpre
}
