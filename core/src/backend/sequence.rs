//! The sequence family: one step of a recurrent cell, reversing each sample's valid steps,
//! row gathers and scatters (embeddings, last steps), and means over valid steps. Every kernel
//! takes each sample's length and leaves padded steps out: they produce zeros, carry the state
//! unchanged and receive no gradient.
use super::contract::{check_indices, check_lengths, contract, count};

use super::sequence_descriptors::*;
use super::{Gemm, Linalg};

/// Recurrent steps, reversal, gathers and masked means over time.
///
/// ```
/// use shapeflow_core::backend::{Device, Sequence, StepBatch};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// // two samples of lengths 2 and 1, one value per step, time-major [steps, batch, 1]
/// let x = dev.upload(&[1.0, 3.0, 2.0, 9.0]);
/// let mut y = dev.zeros(4);
/// Cpu::reverse_steps(&x, &mut y, &[2, 1], StepBatch { batch: 2, steps: 2, width: 1 });
/// assert_eq!(Cpu::to_host(&y), vec![2.0, 3.0, 1.0, 0.0]);
/// ```
pub trait Sequence: Linalg {
    /// One LSTM step. `pre` holds the input projections of all steps (`x·W_ihᵀ + b_ih + b_hh`,
    /// `[steps, batch, 4·hidden]`), `rec` this step's `h·W_hhᵀ` (`[batch, 4·hidden]`), `lengths`
    /// each sample's length (`[batch]`, as values). For a sample still running at this step it
    /// updates `state`, writes `h` to `y`'s step slice (`[steps, batch, hidden]`) and saves what
    /// backward needs; for a finished one it writes zeros to `y` and leaves the state as it is.
    #[track_caller]
    fn lstm_step(
        g: RecurrentStep,
        pre: &Self::Storage,
        rec: &Self::Storage,
        lengths: &Self::Storage,
        state: LstmState<'_, Self::Storage>,
        y: &mut Self::Storage,
        saved: LstmSavedMut<'_, Self::Storage>,
    ) {
        let RecurrentStep { step, batch, hidden } = g;
        let upto = step.checked_add(1);
        let all = |gates: usize| upto.and_then(|s| count(&[s, batch, gates, hidden]));
        let one = |gates: usize| count(&[batch, gates, hidden]);
        contract!("Sequence::lstm_step", g; pre => at_least(all(4)), rec => at_least(one(4)), lengths => at_least(Some(batch)), state.h => at_least(one(1)), state.c => at_least(one(1)), y => at_least(all(1)), saved.gates => at_least(all(4)), saved.c_prev => at_least(all(1)), saved.h_prev => at_least(all(1)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::lstm_step_unchecked(g, pre, rec, lengths, state, y, saved) }
    }

    /// The kernel behind [`Sequence::lstm_step`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::lstm_step`] checks.
    unsafe fn lstm_step_unchecked(
        g: RecurrentStep,
        pre: &Self::Storage,
        rec: &Self::Storage,
        lengths: &Self::Storage,
        state: LstmState<'_, Self::Storage>,
        y: &mut Self::Storage,
        saved: LstmSavedMut<'_, Self::Storage>,
    );

    /// The backward of [`Sequence::lstm_step`], steps taken last to first. `grad` holds the
    /// gradient of the state after the step; for a running sample it becomes the gradient before
    /// the step, except that `grad.h` is zeroed for the caller to add `dgates·W_hh` (the
    /// recurrent part) into. `dy` is the output gradient of all steps, `dpre` (all steps) and
    /// `dgates` (this step, `[batch, 4·hidden]`) receive the gates' pre-activation gradient;
    /// finished samples get zeros there and keep `grad` unchanged.
    #[track_caller]
    fn lstm_step_backward(
        g: RecurrentStep,
        lengths: &Self::Storage,
        saved: LstmSaved<'_, Self::Storage>,
        dy: &Self::Storage,
        grad: LstmState<'_, Self::Storage>,
        dpre: &mut Self::Storage,
        dgates: &mut Self::Storage,
    ) {
        let RecurrentStep { step, batch, hidden } = g;
        let upto = step.checked_add(1);
        let all = |gates: usize| upto.and_then(|s| count(&[s, batch, gates, hidden]));
        let one = |gates: usize| count(&[batch, gates, hidden]);
        contract!("Sequence::lstm_step_backward", g; lengths => at_least(Some(batch)), saved.gates => at_least(all(4)), saved.c_prev => at_least(all(1)), dy => at_least(all(1)), grad.h => at_least(one(1)), grad.c => at_least(one(1)), dpre => at_least(all(4)), dgates => at_least(one(4)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::lstm_step_backward_unchecked(g, lengths, saved, dy, grad, dpre, dgates) }
    }

    /// The kernel behind [`Sequence::lstm_step_backward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::lstm_step_backward`] checks.
    unsafe fn lstm_step_backward_unchecked(
        g: RecurrentStep,
        lengths: &Self::Storage,
        saved: LstmSaved<'_, Self::Storage>,
        dy: &Self::Storage,
        grad: LstmState<'_, Self::Storage>,
        dpre: &mut Self::Storage,
        dgates: &mut Self::Storage,
    );

    /// A whole LSTM direction, first step to last: at each step `rec = h·W_hhᵀ` (`w_hh` is
    /// `[4·hidden, hidden]`; zero at the first step) and [`Sequence::lstm_step`]. `g.width` is
    /// the hidden size, `state` starts at zero. The default runs step by step; the CPU keeps
    /// each worker on its own samples for all steps, with `W_hh` packed once.
    ///
    /// ```
    /// use shapeflow_core::backend::{Device, LstmSavedMut, LstmState, Sequence, StepBatch};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let (batch, steps, h) = (1, 2, 1);
    /// let w_hh = dev.upload(&[0.5; 4]);
    /// let pre = dev.upload(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
    /// let (mut hs, mut c, mut y) = (dev.zeros(1), dev.zeros(1), dev.zeros(2));
    /// let (mut gates, mut c_prev, mut h_prev) = (dev.zeros(8), dev.zeros(2), dev.zeros(2));
    /// Cpu::lstm_forward_steps(
    ///     StepBatch { batch, steps, width: h },
    ///     &w_hh,
    ///     &pre,
    ///     &dev.upload(&[2.0]),
    ///     LstmState { h: &mut hs, c: &mut c },
    ///     &mut y,
    ///     LstmSavedMut { gates: &mut gates, c_prev: &mut c_prev, h_prev: &mut h_prev },
    /// );
    /// assert_eq!(Cpu::to_host(&y)[1], Cpu::to_host(&hs)[0]);
    /// ```
    #[track_caller]
    fn lstm_forward_steps(
        g: StepBatch,
        w_hh: &Self::Storage,
        pre: &Self::Storage,
        lengths: &Self::Storage,
        state: LstmState<'_, Self::Storage>,
        y: &mut Self::Storage,
        saved: LstmSavedMut<'_, Self::Storage>,
    ) {
        let StepBatch { batch, steps, width: hidden } = g;
        let all = |gates: usize| count(&[steps, batch, gates, hidden]);
        let one = |gates: usize| count(&[batch, gates, hidden]);
        contract!("Sequence::lstm_forward_steps", g; w_hh => at_least(count(&[4, hidden, hidden])), pre => at_least(all(4)), lengths => at_least(Some(batch)), state.h => at_least(one(1)), state.c => at_least(one(1)), y => at_least(all(1)), saved.gates => at_least(all(4)), saved.c_prev => at_least(all(1)), saved.h_prev => at_least(all(1)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::lstm_forward_steps_unchecked(g, w_hh, pre, lengths, state, y, saved) }
    }

    /// The kernel behind [`Sequence::lstm_forward_steps`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::lstm_forward_steps`] checks.
    unsafe fn lstm_forward_steps_unchecked(
        g: StepBatch,
        w_hh: &Self::Storage,
        pre: &Self::Storage,
        lengths: &Self::Storage,
        state: LstmState<'_, Self::Storage>,
        y: &mut Self::Storage,
        saved: LstmSavedMut<'_, Self::Storage>,
    ) {
        let StepBatch { batch, steps, width: hidden } = g;
        let mut rec = Self::zeros_like(pre, batch * 4 * hidden);
        for step in 0..steps {
            if step > 0 {
                let gemm = Gemm::new(batch, hidden, 4 * hidden).transpose_b();
                Self::matmul(state.h, w_hh, &mut rec, gemm);
            }
            Self::lstm_step(
                RecurrentStep { step, batch, hidden },
                pre,
                &rec,
                lengths,
                LstmState { h: &mut *state.h, c: &mut *state.c },
                y,
                LstmSavedMut {
                    gates: &mut *saved.gates,
                    c_prev: &mut *saved.c_prev,
                    h_prev: &mut *saved.h_prev,
                },
            );
        }
    }

    /// The backward of [`Sequence::lstm_forward_steps`], last step to first: at each step
    /// [`Sequence::lstm_step_backward`] and `grad.h += dgates·W_hh`. `grad` starts at zero,
    /// `dpre` receives every step's gates' pre-activation gradient.
    ///
    /// ```
    /// use shapeflow_core::backend::{Device, LstmSaved, LstmState, Sequence, StepBatch};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let (gates, c_prev) = (dev.upload(&[0.5; 8]), dev.zeros(2));
    /// let (mut dh, mut dc, mut dpre) = (dev.zeros(1), dev.zeros(1), dev.zeros(8));
    /// Cpu::lstm_backward_steps(
    ///     StepBatch { batch: 1, steps: 2, width: 1 },
    ///     &dev.upload(&[0.5; 4]),
    ///     &dev.upload(&[2.0]),
    ///     LstmSaved { gates: &gates, c_prev: &c_prev },
    ///     &dev.upload(&[1.0, 1.0]),
    ///     LstmState { h: &mut dh, c: &mut dc },
    ///     &mut dpre,
    /// );
    /// assert!(Cpu::to_host(&dpre).iter().all(|v| v.is_finite()));
    /// ```
    #[track_caller]
    fn lstm_backward_steps(
        g: StepBatch,
        w_hh: &Self::Storage,
        lengths: &Self::Storage,
        saved: LstmSaved<'_, Self::Storage>,
        dy: &Self::Storage,
        grad: LstmState<'_, Self::Storage>,
        dpre: &mut Self::Storage,
    ) {
        let StepBatch { batch, steps, width: hidden } = g;
        let all = |gates: usize| count(&[steps, batch, gates, hidden]);
        let one = |gates: usize| count(&[batch, gates, hidden]);
        contract!("Sequence::lstm_backward_steps", g; w_hh => at_least(count(&[4, hidden, hidden])), lengths => at_least(Some(batch)), saved.gates => at_least(all(4)), saved.c_prev => at_least(all(1)), dy => at_least(all(1)), grad.h => at_least(one(1)), grad.c => at_least(one(1)), dpre => at_least(all(4)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::lstm_backward_steps_unchecked(g, w_hh, lengths, saved, dy, grad, dpre) }
    }

    /// The kernel behind [`Sequence::lstm_backward_steps`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::lstm_backward_steps`] checks.
    unsafe fn lstm_backward_steps_unchecked(
        g: StepBatch,
        w_hh: &Self::Storage,
        lengths: &Self::Storage,
        saved: LstmSaved<'_, Self::Storage>,
        dy: &Self::Storage,
        grad: LstmState<'_, Self::Storage>,
        dpre: &mut Self::Storage,
    ) {
        let StepBatch { batch, steps, width: hidden } = g;
        let mut dgates = Self::scratch_like(dy, batch * 4 * hidden);
        for step in (0..steps).rev() {
            Self::lstm_step_backward(
                RecurrentStep { step, batch, hidden },
                lengths,
                LstmSaved { gates: saved.gates, c_prev: saved.c_prev },
                dy,
                LstmState { h: &mut *grad.h, c: &mut *grad.c },
                dpre,
                &mut dgates,
            );
            if step > 0 {
                let gemm = Gemm::new(batch, 4 * hidden, hidden).accumulate();
                Self::matmul(&dgates, w_hh, grad.h, gemm);
            }
        }
    }

    /// One GRU step (PyTorch's `nn.GRU`): `pre` holds `x·W_ihᵀ + b_ih` of all steps
    /// (`[steps, batch, 3·hidden]`), `rec` this step's `h·W_hhᵀ + b_hh` (`[batch, 3·hidden]`);
    /// `h' = (1 − z)·n + z·h` with `n = tanh(pre_n + r·rec_n)`. Running and finished samples as in
    /// [`Sequence::lstm_step`].
    #[track_caller]
    fn gru_step(
        g: RecurrentStep,
        pre: &Self::Storage,
        rec: &Self::Storage,
        lengths: &Self::Storage,
        h: &mut Self::Storage,
        y: &mut Self::Storage,
        saved: GruSavedMut<'_, Self::Storage>,
    ) {
        let RecurrentStep { step, batch, hidden } = g;
        let upto = step.checked_add(1);
        let all = |gates: usize| upto.and_then(|s| count(&[s, batch, gates, hidden]));
        let one = |gates: usize| count(&[batch, gates, hidden]);
        contract!("Sequence::gru_step", g; pre => at_least(all(3)), rec => at_least(one(3)), lengths => at_least(Some(batch)), h => at_least(one(1)), y => at_least(all(1)), saved.gates => at_least(all(3)), saved.rec_n => at_least(all(1)), saved.h_prev => at_least(all(1)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::gru_step_unchecked(g, pre, rec, lengths, h, y, saved) }
    }

    /// The kernel behind [`Sequence::gru_step`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::gru_step`] checks.
    unsafe fn gru_step_unchecked(
        g: RecurrentStep,
        pre: &Self::Storage,
        rec: &Self::Storage,
        lengths: &Self::Storage,
        h: &mut Self::Storage,
        y: &mut Self::Storage,
        saved: GruSavedMut<'_, Self::Storage>,
    );

    /// The backward of [`Sequence::gru_step`]: `dh` holds the gradient of the state after the
    /// step and becomes, for a running sample, its direct part before the step (`dh·z`), to
    /// which the caller adds `drec·W_hh`.
    #[track_caller]
    fn gru_step_backward(
        g: RecurrentStep,
        lengths: &Self::Storage,
        saved: GruSaved<'_, Self::Storage>,
        dy: &Self::Storage,
        dh: &mut Self::Storage,
        grads: GruGrads<'_, Self::Storage>,
    ) {
        let RecurrentStep { step, batch, hidden } = g;
        let upto = step.checked_add(1);
        let all = |gates: usize| upto.and_then(|s| count(&[s, batch, gates, hidden]));
        let one = |gates: usize| count(&[batch, gates, hidden]);
        contract!("Sequence::gru_step_backward", g; lengths => at_least(Some(batch)), saved.gates => at_least(all(3)), saved.rec_n => at_least(all(1)), saved.h_prev => at_least(all(1)), dy => at_least(all(1)), dh => at_least(one(1)), grads.dpre => at_least(all(3)), grads.drec_all => at_least(all(3)), grads.drec => at_least(one(3)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::gru_step_backward_unchecked(g, lengths, saved, dy, dh, grads) }
    }

    /// The kernel behind [`Sequence::gru_step_backward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::gru_step_backward`] checks.
    unsafe fn gru_step_backward_unchecked(
        g: RecurrentStep,
        lengths: &Self::Storage,
        saved: GruSaved<'_, Self::Storage>,
        dy: &Self::Storage,
        dh: &mut Self::Storage,
        grads: GruGrads<'_, Self::Storage>,
    );

    /// One step of a plain recurrent layer: `h' = act(pre + rec)`, `pre` holding
    /// `x·W_ihᵀ + b_ih + b_hh` of all steps and `rec` this step's `h·W_hhᵀ`; the new state goes
    /// to `io.h` and `io.y`, and is also saved in `io.out` (all steps), the old one in
    /// `io.h_prev`.
    #[track_caller]
    fn rnn_step(
        g: RecurrentStep,
        act: RnnActivation,
        pre: &Self::Storage,
        rec: &Self::Storage,
        lengths: &Self::Storage,
        io: RnnStepMut<'_, Self::Storage>,
    ) {
        let RecurrentStep { step, batch, hidden } = g;
        let upto = step.checked_add(1);
        let all = |gates: usize| upto.and_then(|s| count(&[s, batch, gates, hidden]));
        let one = |gates: usize| count(&[batch, gates, hidden]);
        contract!("Sequence::rnn_step", g; pre => at_least(all(1)), rec => at_least(one(1)), lengths => at_least(Some(batch)), io.h => at_least(one(1)), io.y => at_least(all(1)), io.out => at_least(all(1)), io.h_prev => at_least(all(1)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::rnn_step_unchecked(g, act, pre, rec, lengths, io) }
    }

    /// The kernel behind [`Sequence::rnn_step`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::rnn_step`] checks.
    unsafe fn rnn_step_unchecked(
        g: RecurrentStep,
        act: RnnActivation,
        pre: &Self::Storage,
        rec: &Self::Storage,
        lengths: &Self::Storage,
        io: RnnStepMut<'_, Self::Storage>,
    );

    /// The backward of [`Sequence::rnn_step`]: `grads.dh` (the state's gradient after the step)
    /// is zeroed for running samples, for the caller to add `dgates·W_hh`; `grads.dpre` (all
    /// steps) and `grads.dgates` (this step) receive the pre-activation gradient.
    #[track_caller]
    fn rnn_step_backward(
        g: RecurrentStep,
        act: RnnActivation,
        lengths: &Self::Storage,
        out: &Self::Storage,
        dy: &Self::Storage,
        grads: RnnGrads<'_, Self::Storage>,
    ) {
        let RecurrentStep { step, batch, hidden } = g;
        let upto = step.checked_add(1);
        let all = |gates: usize| upto.and_then(|s| count(&[s, batch, gates, hidden]));
        let one = |gates: usize| count(&[batch, gates, hidden]);
        contract!("Sequence::rnn_step_backward", g; lengths => at_least(Some(batch)), out => at_least(all(1)), dy => at_least(all(1)), grads.dh => at_least(one(1)), grads.dpre => at_least(all(1)), grads.dgates => at_least(one(1)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::rnn_step_backward_unchecked(g, act, lengths, out, dy, grads) }
    }

    /// The kernel behind [`Sequence::rnn_step_backward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::rnn_step_backward`] checks.
    unsafe fn rnn_step_backward_unchecked(
        g: RecurrentStep,
        act: RnnActivation,
        lengths: &Self::Storage,
        out: &Self::Storage,
        dy: &Self::Storage,
        grads: RnnGrads<'_, Self::Storage>,
    );

    /// Sets to −∞ every score whose key is a padded step of its sample (`key ≥ len_b`, `lengths`
    /// being the keys' lengths) or, when causal, comes after its query, so that a softmax gives
    /// it exactly zero weight.
    #[track_caller]
    fn mask_scores(scores: &mut Self::Storage, lengths: &[usize], g: ScoreMask) {
        check_lengths("Sequence::mask_scores", lengths, g.batch, g.keys, true);
        contract!("Sequence::mask_scores", g; scores => at_least(count(&[g.batch, g.heads, g.queries, g.keys])));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::mask_scores_unchecked(scores, lengths, g) }
    }

    /// The kernel behind [`Sequence::mask_scores`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::mask_scores`] checks.
    unsafe fn mask_scores_unchecked(scores: &mut Self::Storage, lengths: &[usize], g: ScoreMask);

    /// Rotary position embeddings (see [`Rotary`]); `cos` and `sin` hold `[steps, head / 2]`
    /// angles' cosines and sines.
    #[track_caller]
    fn rotary(
        x: &Self::Storage,
        y: &mut Self::Storage,
        cos: &Self::Storage,
        sin: &Self::Storage,
        g: Rotary,
    ) {
        let (n, angles) = (count(&[g.blocks, g.steps, g.head]), count(&[g.steps, g.head / 2]));
        contract!("Sequence::rotary", g; x => at_least(n), y => at_least(n), cos => at_least(angles), sin => at_least(angles));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::rotary_unchecked(x, y, cos, sin, g) }
    }

    /// The kernel behind [`Sequence::rotary`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::rotary`] checks.
    unsafe fn rotary_unchecked(
        x: &Self::Storage,
        y: &mut Self::Storage,
        cos: &Self::Storage,
        sin: &Self::Storage,
        g: Rotary,
    );

    /// Zeroes the padded steps (`t ≥ len_b`) of a batch-first `[batch, steps, width]` buffer.
    #[track_caller]
    fn zero_padding(x: &mut Self::Storage, lengths: &[usize], g: StepBatch) {
        check_lengths("Sequence::zero_padding", lengths, g.batch, g.steps, false);
        contract!("Sequence::zero_padding", g; x => at_least(count(&[g.batch, g.steps, g.width])));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::zero_padding_unchecked(x, lengths, g) }
    }

    /// The kernel behind [`Sequence::zero_padding`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::zero_padding`] checks.
    unsafe fn zero_padding_unchecked(x: &mut Self::Storage, lengths: &[usize], g: StepBatch);

    /// Reverses each sample's valid steps of a time-major `[steps, batch, width]` buffer:
    /// `y[t, b] = x[len_b − 1 − t, b]` for `t < len_b`, zeros after (its own inverse on the
    /// valid steps).
    #[track_caller]
    fn reverse_steps(x: &Self::Storage, y: &mut Self::Storage, lengths: &[usize], g: StepBatch) {
        check_lengths("Sequence::reverse_steps", lengths, g.batch, g.steps, false);
        let n = count(&[g.batch, g.steps, g.width]);
        contract!("Sequence::reverse_steps", g; x => at_least(n), y => at_least(n));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::reverse_steps_unchecked(x, y, lengths, g) }
    }

    /// The kernel behind [`Sequence::reverse_steps`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::reverse_steps`] checks.
    unsafe fn reverse_steps_unchecked(
        x: &Self::Storage,
        y: &mut Self::Storage,
        lengths: &[usize],
        g: StepBatch,
    );

    /// `out[i] = table[rows[i]]`, rows of `width` values; a row index of `usize::MAX` (an id
    /// the caller found invalid) gives a row of NaN.
    #[track_caller]
    fn gather_rows(table: &Self::Storage, rows: &[usize], out: &mut Self::Storage, width: usize) {
        let table_rows = Self::len(table).checked_div(width).unwrap_or(0);
        check_indices("Sequence::gather_rows", "rows", rows, rows.len(), table_rows, true);
        contract!("Sequence::gather_rows", width; out => at_least(count(&[rows.len(), width])));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::gather_rows_unchecked(table, rows, out, width) }
    }

    /// The kernel behind [`Sequence::gather_rows`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::gather_rows`] checks.
    unsafe fn gather_rows_unchecked(
        table: &Self::Storage,
        rows: &[usize],
        out: &mut Self::Storage,
        width: usize,
    );

    /// `table[rows[i]] += src[i]`, rows of `width` values; `usize::MAX` rows are skipped.
    #[track_caller]
    fn scatter_add_rows(
        src: &Self::Storage,
        rows: &[usize],
        table: &mut Self::Storage,
        width: usize,
    ) {
        let table_rows = Self::len(table).checked_div(width).unwrap_or(0);
        check_indices("Sequence::scatter_add_rows", "rows", rows, rows.len(), table_rows, true);
        contract!("Sequence::scatter_add_rows", width; src => at_least(count(&[rows.len(), width])));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::scatter_add_rows_unchecked(src, rows, table, width) }
    }

    /// The kernel behind [`Sequence::scatter_add_rows`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::scatter_add_rows`] checks.
    unsafe fn scatter_add_rows_unchecked(
        src: &Self::Storage,
        rows: &[usize],
        table: &mut Self::Storage,
        width: usize,
    );

    /// The mean over each sample's valid steps of a batch-first `[batch, steps, width]`
    /// buffer, into `y` (`[batch, width]`).
    #[track_caller]
    fn mean_steps(x: &Self::Storage, y: &mut Self::Storage, lengths: &[usize], g: StepBatch) {
        check_lengths("Sequence::mean_steps", lengths, g.batch, g.steps, false);
        contract!("Sequence::mean_steps", g; x => at_least(count(&[g.batch, g.steps, g.width])), y => at_least(count(&[g.batch, g.width])));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::mean_steps_unchecked(x, y, lengths, g) }
    }

    /// The kernel behind [`Sequence::mean_steps`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::mean_steps`] checks.
    unsafe fn mean_steps_unchecked(
        x: &Self::Storage,
        y: &mut Self::Storage,
        lengths: &[usize],
        g: StepBatch,
    );

    /// The backward of [`Sequence::mean_steps`]: `dx[b, t] = dy[b] / len_b` for valid steps,
    /// zeros for padded ones.
    #[track_caller]
    fn mean_steps_backward(
        dy: &Self::Storage,
        dx: &mut Self::Storage,
        lengths: &[usize],
        g: StepBatch,
    ) {
        check_lengths("Sequence::mean_steps_backward", lengths, g.batch, g.steps, false);
        contract!("Sequence::mean_steps_backward", g; dy => at_least(count(&[g.batch, g.width])), dx => at_least(count(&[g.batch, g.steps, g.width])));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::mean_steps_backward_unchecked(dy, dx, lengths, g) }
    }

    /// The kernel behind [`Sequence::mean_steps_backward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Sequence::mean_steps_backward`] checks.
    unsafe fn mean_steps_backward_unchecked(
        dy: &Self::Storage,
        dx: &mut Self::Storage,
        lengths: &[usize],
        g: StepBatch,
    );
}
