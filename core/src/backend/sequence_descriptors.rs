//! The descriptors the sequence family takes: batch and step geometry, what recurrent steps
//! save for their backward passes and the gradients they write, attention masks, rotary angles.

/// A batch of sequences as a buffer of `batch × steps` rows of `width` values: batch-first
/// (`[batch, steps, width]`, the layout of sequence tensors) or time-major (`[steps, batch,
/// width]`, the layout recurrent layers work in), as each method says.
///
/// ```
/// let g = shapeflow_core::backend::StepBatch { batch: 2, steps: 3, width: 4 };
/// assert_eq!(g.len(), 24);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepBatch {
    /// Samples.
    pub batch: usize,
    /// Padded steps.
    pub steps: usize,
    /// Values per step.
    pub width: usize,
}

impl StepBatch {
    /// Values in all.
    pub const fn len(&self) -> usize {
        self.batch * self.steps * self.width
    }
    /// Whether there are no values.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Step `step` of a recurrent layer with `hidden` units over `batch` samples; buffers named
/// "all steps" are time-major `[steps, batch, …]` and the step reads and writes its own slice.
///
/// ```
/// let s = shapeflow_core::backend::RecurrentStep { step: 0, batch: 4, hidden: 8 };
/// assert_eq!(s.hidden, 8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecurrentStep {
    /// The time step (0-based, in the direction of processing).
    pub step: usize,
    /// Samples.
    pub batch: usize,
    /// Hidden units.
    pub hidden: usize,
}

/// What an LSTM step keeps for its backward pass, all steps time-major: the activated gates
/// `[steps, batch, 4·hidden]` in PyTorch's order (input, forget, cell, output), and the cell and
/// hidden states before each step `[steps, batch, hidden]`.
pub struct LstmSaved<'a, S> {
    /// Activated gates `i, f, g, o`.
    pub gates: &'a S,
    /// Cell state before each step.
    pub c_prev: &'a S,
}

/// [`LstmSaved`], written by the forward step.
pub struct LstmSavedMut<'a, S> {
    /// Activated gates `i, f, g, o`.
    pub gates: &'a mut S,
    /// Cell state before each step.
    pub c_prev: &'a mut S,
    /// Hidden state before each step (the recurrent weight gradient's right operand).
    pub h_prev: &'a mut S,
}

/// A recurrent state (or its gradient): hidden `h` and cell `c`, each `[batch, hidden]`.
pub struct LstmState<'a, S> {
    /// Hidden state.
    pub h: &'a mut S,
    /// Cell state.
    pub c: &'a mut S,
}

/// What a GRU step keeps for its backward pass, all steps time-major: the activated gates
/// `[steps, batch, 3·hidden]` in PyTorch's order (reset, update, new), the recurrent part of
/// the new gate before the reset gate scales it (`h·W_hnᵀ + b_hn`, `[steps, batch, hidden]`),
/// and the hidden state before each step.
pub struct GruSaved<'a, S> {
    /// Activated gates `r, z, n`.
    pub gates: &'a S,
    /// `h·W_hnᵀ + b_hn` of each step.
    pub rec_n: &'a S,
    /// Hidden state before each step.
    pub h_prev: &'a S,
}

/// [`GruSaved`], written by the forward step.
pub struct GruSavedMut<'a, S> {
    /// Activated gates `r, z, n`.
    pub gates: &'a mut S,
    /// `h·W_hnᵀ + b_hn` of each step.
    pub rec_n: &'a mut S,
    /// Hidden state before each step.
    pub h_prev: &'a mut S,
}

/// The gradients a GRU step's backward writes: the gates' pre-activation gradients on the input
/// side (`dpre`, all steps) and on the recurrent side (`drec_all`, all steps, and `drec`, this
/// step, `[batch, 3·hidden]`), which differ in the new gate (the reset gate scales its
/// recurrent part).
pub struct GruGrads<'a, S> {
    /// Input-side pre-activation gradients, all steps.
    pub dpre: &'a mut S,
    /// Recurrent-side pre-activation gradients, all steps.
    pub drec_all: &'a mut S,
    /// Recurrent-side pre-activation gradients of this step.
    pub drec: &'a mut S,
}

/// What one step of a plain recurrent layer writes ([`Sequence::rnn_step`](super::Sequence::rnn_step)): the state, the
/// layer's output, and what backward needs.
///
/// ```
/// use shapeflow_core::backend::{Device, RnnStepMut};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let (mut h, mut y, mut out, mut h_prev) = (dev.zeros(2), dev.zeros(2), dev.zeros(2), dev.zeros(2));
/// let io = RnnStepMut { h: &mut h, y: &mut y, out: &mut out, h_prev: &mut h_prev };
/// # let _ = io;
/// ```
#[derive(Debug)]
pub struct RnnStepMut<'a, S> {
    /// The state `[batch, hidden]`, updated.
    pub h: &'a mut S,
    /// The layer's output, all steps `[steps, batch, hidden]` (this step written).
    pub y: &'a mut S,
    /// The new state of every step, for backward.
    pub out: &'a mut S,
    /// The state before every step, for backward.
    pub h_prev: &'a mut S,
}

/// The gradients one backward step of a plain recurrent layer updates
/// ([`Sequence::rnn_step_backward`](super::Sequence::rnn_step_backward)).
///
/// ```
/// use shapeflow_core::backend::{Device, RnnGrads};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let (mut dh, mut dpre, mut dgates) = (dev.zeros(2), dev.zeros(2), dev.zeros(2));
/// let grads = RnnGrads { dh: &mut dh, dpre: &mut dpre, dgates: &mut dgates };
/// # let _ = grads;
/// ```
#[derive(Debug)]
pub struct RnnGrads<'a, S> {
    /// The state's gradient `[batch, hidden]`.
    pub dh: &'a mut S,
    /// The pre-activation gradient of every step.
    pub dpre: &'a mut S,
    /// This step's pre-activation gradient `[batch, hidden]`.
    pub dgates: &'a mut S,
}

/// The nonlinearity of a plain recurrent layer (PyTorch's `nn.RNN(nonlinearity=…)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RnnActivation {
    /// `tanh` (PyTorch's default).
    Tanh,
    /// `relu`.
    Relu,
}

/// Attention scores `[batch, heads, queries, keys]` and which of them a query may not see.
///
/// ```
/// let g = shapeflow_core::backend::ScoreMask { batch: 2, heads: 4, queries: 5, keys: 3, causal: false };
/// assert_eq!(g.len(), 2 * 4 * 5 * 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoreMask {
    /// Samples.
    pub batch: usize,
    /// Heads.
    pub heads: usize,
    /// Query steps.
    pub queries: usize,
    /// Key steps (the queries' own for self-attention, the memory's for cross-attention).
    pub keys: usize,
    /// Also hide the keys after each query (self-attention).
    pub causal: bool,
}

impl ScoreMask {
    /// Scores in all.
    pub const fn len(&self) -> usize {
        self.batch * self.heads * self.queries * self.keys
    }
    /// Whether there are none.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Rotary position embeddings over head-major `[blocks, steps, head]` buffers (`blocks` =
/// batch × heads): the two halves of each head's vector rotated by the step's angles,
/// `y₁ = x₁·cos − x₂·sin`, `y₂ = x₂·cos + x₁·sin` (the "rotate half" convention of GPT-NeoX and
/// LLaMA); `inverse` rotates back (the backward pass).
///
/// ```
/// let g = shapeflow_core::backend::Rotary { blocks: 8, steps: 16, head: 32, inverse: false };
/// assert_eq!(g.len(), 8 * 16 * 32);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotary {
    /// Batch × heads.
    pub blocks: usize,
    /// Steps.
    pub steps: usize,
    /// Values per head (even).
    pub head: usize,
    /// Rotate by the negated angles.
    pub inverse: bool,
}

impl Rotary {
    /// Values in all.
    pub const fn len(&self) -> usize {
        self.blocks * self.steps * self.head
    }
    /// Whether there are none.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
