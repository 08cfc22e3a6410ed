//! The CPU's whole LSTM direction ([`Sequence::lstm_forward_steps`] and its backward): the batch
//! split into one share of samples per worker for all steps, each worker running its samples'
//! recurrent products and cell rows step after step. A sample's state depends only on its own
//! past, so the workers never wait for each other between steps (the step-by-step default forks
//! and joins twice per step: the character-LSTM training benchmark (W5) runs 1 016 steps per training step); `W_hh` is packed once per
//! pass for the per-step products (`matmul_packed.rs`).
//!
//! [`Sequence::lstm_forward_steps`]: shapeflow_core::backend::Sequence::lstm_forward_steps

use gemm::Parallelism;
use rayon::prelude::*;
use shapeflow_core::backend::{Gemm, StepBatch};

#[cfg(target_arch = "x86_64")]
use crate::f32_view::{as_f32, as_f32_mut};
use crate::lstm_rows::{lstm_backward_row, lstm_forward_row, running};
#[cfg(target_arch = "x86_64")]
use crate::matmul_packed::Packed;
use crate::{CpuElem, matmul};

/// Below this many multiply-adds in a direction's recurrent products all samples run on one
/// worker.
const PARALLEL_MIN: usize = 1 << 20;

/// The right operand of the per-step products: packed (f32 with AVX2 and FMA), or as stored
/// and multiplied through gemm on the calling worker.
enum Weights<'a, E> {
    #[cfg(target_arch = "x86_64")]
    Packed(Packed),
    Stored {
        w: &'a [E],
        k: usize,
        n: usize,
        transposed: bool,
    },
}

impl<'a, E: CpuElem> Weights<'a, E> {
    /// `W_hhᵀ` (`w` stored `[n, k]`) for `h·W_hhᵀ`.
    fn transposed(w: &'a [E], n: usize, k: usize) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(p) = as_f32(w).and_then(|w| Packed::transposed(w, n, k)) {
            return Weights::Packed(p);
        }
        Weights::Stored { w, k, n, transposed: true }
    }

    /// `W_hh` (stored `[k, n]`) for `dgates·W_hh`.
    fn plain(w: &'a [E], k: usize, n: usize) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(p) = as_f32(w).and_then(|w| Packed::plain(w, k, n)) {
            return Weights::Packed(p);
        }
        Weights::Stored { w, k, n, transposed: false }
    }

    /// `c = a·b` (`c += a·b` with `accumulate`) for the `m` rows of `a`.
    fn multiply(&self, a: &[E], c: &mut [E], m: usize, accumulate: bool) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Weights::Packed(p) => {
                if let (Some(a), Some(c)) = (as_f32(a), as_f32_mut(c)) {
                    p.multiply(a, c, accumulate);
                }
            }
            &Weights::Stored { w, k, n, transposed } => {
                let g = Gemm::new(m, k, n);
                let g = if transposed { g.transpose_b() } else { g };
                let g = if accumulate { g.accumulate() } else { g };
                matmul::matmul_with(a, w, c, g, Parallelism::None);
            }
        }
    }
}

/// A buffer whose disjoint row ranges workers write at once.
struct Shared<E> {
    ptr: *mut E,
    len: usize,
}

// SAFETY: workers get disjoint ranges only (each sample's rows belong to one share), and the
// buffer stays borrowed until every worker has returned (`for_each` joins them).
unsafe impl<E: Send> Sync for Shared<E> {}

impl<E> Shared<E> {
    fn new(s: &mut [E]) -> Self {
        Shared { ptr: s.as_mut_ptr(), len: s.len() }
    }

    /// Values `lo..hi`, or an empty slice if they are not all inside the buffer.
    ///
    /// # Safety
    /// No other live slice may overlap `lo..hi`.
    #[allow(clippy::mut_from_ref)]
    unsafe fn range(&self, lo: usize, hi: usize) -> &mut [E] {
        if lo > hi || hi > self.len {
            debug_assert!(false, "recurrence: rows {lo}..{hi} outside {}", self.len);
            return &mut [];
        }
        // SAFETY: inside the buffer (checked); exclusivity is the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(lo), hi - lo) }
    }
}

/// The samples each worker takes: contiguous shares of `0..batch`.
fn shares(batch: usize, work: usize) -> Vec<(usize, usize)> {
    let workers = if work < PARALLEL_MIN { 1 } else { matmul::threads().clamp(1, batch.max(1)) };
    (0..workers).map(|t| (batch * t / workers, batch * (t + 1) / workers)).collect()
}

/// The buffers of one LSTM direction's forward pass (all steps time-major).
pub(crate) struct LstmForward<'a, E> {
    pub pre: &'a [E],
    pub lengths: &'a [E],
    pub h: &'a mut [E],
    pub c: &'a mut [E],
    pub y: &'a mut [E],
    pub gates: &'a mut [E],
    pub c_prev: &'a mut [E],
    pub h_prev: &'a mut [E],
}

/// Every step of one LSTM direction, `w_hh` `[4·hidden, hidden]`, `g.width` the hidden units.
pub(crate) fn lstm_forward<E: CpuElem>(g: StepBatch, w_hh: &[E], b: LstmForward<'_, E>) {
    let StepBatch { batch, steps, width: hd } = g;
    let (g4, rows) = (4 * hd, batch * steps);
    let fits = w_hh.len() >= g4 * hd
        && b.pre.len() >= rows * g4
        && b.lengths.len() >= batch
        && b.h.len() >= batch * hd
        && b.c.len() >= batch * hd
        && b.y.len() >= rows * hd
        && b.gates.len() >= rows * g4
        && b.c_prev.len() >= rows * hd
        && b.h_prev.len() >= rows * hd;
    if !fits {
        debug_assert!(
            false,
            "lstm_forward_steps: buffers smaller than {steps} steps of {batch}×{hd}"
        );
        return;
    }
    let weights = Weights::transposed(w_hh, g4, hd);
    let (pre, lengths) = (b.pre, b.lengths);
    let (h, c) = (Shared::new(b.h), Shared::new(b.c));
    let (y, gates) = (Shared::new(b.y), Shared::new(b.gates));
    let (c_prev, h_prev) = (Shared::new(b.c_prev), Shared::new(b.h_prev));
    let share = |&(lo, hi): &(usize, usize)| {
        let n = hi - lo;
        let mut rec = vec![E::zero(); n * g4];
        // SAFETY: the shares partition the samples, so this worker alone touches rows
        // `lo..hi` of the state and, at every step, rows `step·batch + lo..hi` of the rest.
        let (hs, cs) = unsafe { (h.range(lo * hd, hi * hd), c.range(lo * hd, hi * hd)) };
        for step in 0..steps {
            if step > 0 {
                weights.multiply(hs, &mut rec, n, false);
            }
            let at = step * batch + lo;
            // SAFETY: as above.
            let (ys, gs, cps, hps) = unsafe {
                (
                    y.range(at * hd, (at + n) * hd),
                    gates.range(at * g4, (at + n) * g4),
                    c_prev.range(at * hd, (at + n) * hd),
                    h_prev.range(at * hd, (at + n) * hd),
                )
            };
            let it = hs
                .chunks_mut(hd)
                .zip(cs.chunks_mut(hd))
                .zip(ys.chunks_mut(hd))
                .zip(gs.chunks_mut(g4))
                .zip(cps.chunks_mut(hd))
                .zip(hps.chunks_mut(hd))
                .zip(rec.chunks(g4))
                .enumerate();
            for (i, ((((((hr, cr), yr), gr), cpr), hpr), rr)) in it {
                let p = &pre[(at + i) * g4..(at + i + 1) * g4];
                let run = running(lengths, step, lo + i);
                lstm_forward_row(run, (p, rr), (hr, cr), (yr, gr, cpr, hpr));
            }
        }
    };
    let parts = shares(batch, steps * batch * g4 * hd);
    if parts.len() > 1 {
        parts.par_iter().for_each(share);
    } else {
        parts.iter().for_each(share);
    }
}

/// The buffers of one LSTM direction's backward pass.
pub(crate) struct LstmBackward<'a, E> {
    pub lengths: &'a [E],
    pub gates: &'a [E],
    pub c_prev: &'a [E],
    pub dy: &'a [E],
    pub dh: &'a mut [E],
    pub dc: &'a mut [E],
    pub dpre: &'a mut [E],
}

/// The backward of [`lstm_forward`], last step to first.
pub(crate) fn lstm_backward<E: CpuElem>(g: StepBatch, w_hh: &[E], b: LstmBackward<'_, E>) {
    let StepBatch { batch, steps, width: hd } = g;
    let (g4, rows) = (4 * hd, batch * steps);
    let fits = w_hh.len() >= g4 * hd
        && b.lengths.len() >= batch
        && b.gates.len() >= rows * g4
        && b.c_prev.len() >= rows * hd
        && b.dy.len() >= rows * hd
        && b.dh.len() >= batch * hd
        && b.dc.len() >= batch * hd
        && b.dpre.len() >= rows * g4;
    if !fits {
        debug_assert!(
            false,
            "lstm_backward_steps: buffers smaller than {steps} steps of {batch}×{hd}"
        );
        return;
    }
    let weights = Weights::plain(w_hh, g4, hd);
    let (lengths, gates, c_prev, dy) = (b.lengths, b.gates, b.c_prev, b.dy);
    let (dh, dc, dpre) = (Shared::new(b.dh), Shared::new(b.dc), Shared::new(b.dpre));
    let share = |&(lo, hi): &(usize, usize)| {
        let n = hi - lo;
        // SAFETY: as in `lstm_forward`: this worker alone touches its samples' rows.
        let (dhs, dcs) = unsafe { (dh.range(lo * hd, hi * hd), dc.range(lo * hd, hi * hd)) };
        for step in (0..steps).rev() {
            let at = step * batch + lo;
            // SAFETY: as above.
            let dps = unsafe { dpre.range(at * g4, (at + n) * g4) };
            let it = dhs.chunks_mut(hd).zip(dcs.chunks_mut(hd)).zip(dps.chunks_mut(g4)).enumerate();
            for (i, ((dhr, dcr), dpr)) in it {
                let r = at + i;
                let saved = (&gates[r * g4..(r + 1) * g4], &c_prev[r * hd..(r + 1) * hd]);
                let run = running(lengths, step, lo + i);
                lstm_backward_row(run, saved, &dy[r * hd..(r + 1) * hd], (dhr, dcr), dpr);
            }
            if step > 0 {
                // dh += dgates·W_hh: the recurrent part of the previous step's state gradient.
                weights.multiply(dps, dhs, n, true);
            }
        }
    };
    let parts = shares(batch, steps * batch * g4 * hd);
    if parts.len() > 1 {
        parts.par_iter().for_each(share);
    } else {
        parts.iter().for_each(share);
    }
}

#[cfg(test)]
mod tests {
    use shapeflow_core::backend::{
        Device, Gemm, Linalg, LstmSaved, LstmSavedMut, LstmState, RecurrentStep, Sequence,
        StepBatch,
    };

    use crate::{Cpu, Cpu64};

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n).map(|i| (((i * 7919 + seed * 104_729) % 1000) as f32 / 1000.0 - 0.5) * 0.8).collect()
    }

    fn close(what: &str, got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{what}[{i}]: {a} vs {b}");
        }
    }

    /// The whole-direction passes (samples split over the workers, `W_hh` packed) against the
    /// step-by-step composition of `lstm_step`, `lstm_step_backward` and `matmul`, on a ragged
    /// batch (a sample of length 0 among them) large enough to run on several workers.
    #[test]
    fn whole_direction_passes_match_step_by_step() {
        let dev = Cpu::default();
        let (batch, steps, h) = (9usize, 40usize, 64usize);
        let (g4, rows) = (4 * h, batch * steps);
        let g = StepBatch { batch, steps, width: h };
        let lens: Vec<f32> =
            (0..batch).map(|b| [40.0, 3.0, 0.0, 17.0, 40.0, 1.0, 25.0, 39.0, 8.0][b]).collect();
        let lengths = dev.upload(&lens);
        let w_hh = dev.upload(&values(g4 * h, 1));
        let pre = dev.upload(&values(rows * g4, 2));
        let dy = dev.upload(&values(rows * h, 3));
        let run = |whole: bool| {
            let (mut hs, mut c) = (dev.zeros(batch * h), dev.zeros(batch * h));
            let mut y = dev.zeros(rows * h);
            let (mut gates, mut c_prev, mut h_prev) =
                (dev.zeros(rows * g4), dev.zeros(rows * h), dev.zeros(rows * h));
            if whole {
                Cpu::lstm_forward_steps(
                    g,
                    &w_hh,
                    &pre,
                    &lengths,
                    LstmState { h: &mut hs, c: &mut c },
                    &mut y,
                    LstmSavedMut { gates: &mut gates, c_prev: &mut c_prev, h_prev: &mut h_prev },
                );
            } else {
                let mut rec = dev.zeros(batch * g4);
                for step in 0..steps {
                    if step > 0 {
                        Cpu::matmul(&hs, &w_hh, &mut rec, Gemm::new(batch, h, g4).transpose_b());
                    }
                    Cpu::lstm_step(
                        RecurrentStep { step, batch, hidden: h },
                        &pre,
                        &rec,
                        &lengths,
                        LstmState { h: &mut hs, c: &mut c },
                        &mut y,
                        LstmSavedMut {
                            gates: &mut gates,
                            c_prev: &mut c_prev,
                            h_prev: &mut h_prev,
                        },
                    );
                }
            }
            let (mut dh, mut dc, mut dpre) =
                (dev.zeros(batch * h), dev.zeros(batch * h), dev.zeros(rows * g4));
            let saved = LstmSaved { gates: &gates, c_prev: &c_prev };
            if whole {
                let state = LstmState { h: &mut dh, c: &mut dc };
                Cpu::lstm_backward_steps(g, &w_hh, &lengths, saved, &dy, state, &mut dpre);
            } else {
                let mut dgates = dev.zeros(batch * g4);
                for step in (0..steps).rev() {
                    Cpu::lstm_step_backward(
                        RecurrentStep { step, batch, hidden: h },
                        &lengths,
                        LstmSaved { gates: &gates, c_prev: &c_prev },
                        &dy,
                        LstmState { h: &mut dh, c: &mut dc },
                        &mut dpre,
                        &mut dgates,
                    );
                    if step > 0 {
                        Cpu::matmul(&dgates, &w_hh, &mut dh, Gemm::new(batch, g4, h).accumulate());
                    }
                }
            }
            [hs, c, y, gates, c_prev, h_prev, dh, dc, dpre].map(|b| Cpu::to_host(&b))
        };
        let (whole, steps_apart) = (run(true), run(false));
        let names = ["h", "c", "y", "gates", "c_prev", "h_prev", "dh", "dc", "dpre"];
        for ((name, a), b) in names.iter().zip(&whole).zip(&steps_apart) {
            close(name, a, b);
        }
        // The sample of length 0 outputs zeros and gets no gradient.
        assert!(
            (0..steps).all(|t| whole[2][(t * batch + 2) * h..(t * batch + 3) * h]
                .iter()
                .all(|&v| v == 0.0))
        );
        assert!((0..steps).all(|t| {
            whole[8][(t * batch + 2) * g4..(t * batch + 3) * g4].iter().all(|&v| v == 0.0)
        }));
    }

    /// In f64 (no packed kernel: gemm on each worker) the passes still run and agree with
    /// themselves run one sample at a time.
    #[test]
    fn whole_direction_passes_in_f64_are_per_sample() {
        let dev = Cpu64::default();
        let (batch, steps, h) = (6usize, 50usize, 48usize);
        let (g4, rows) = (4 * h, batch * steps);
        let lens: Vec<f64> = vec![50.0, 2.0, 31.0, 50.0, 7.0, 49.0];
        let w: Vec<f64> = (0..g4 * h).map(|i| ((i * 31 % 97) as f64 / 97.0 - 0.5) * 0.3).collect();
        let p: Vec<f64> = (0..rows * g4).map(|i| (i * 17 % 89) as f64 / 89.0 - 0.5).collect();
        let forward = |b0: usize, nb: usize| -> Vec<f64> {
            // Rows of samples `b0..b0 + nb` only, time-major.
            let sub: Vec<f64> = (0..steps)
                .flat_map(|t| p[(t * batch + b0) * g4..(t * batch + b0 + nb) * g4].to_vec())
                .collect();
            let (mut hs, mut c, mut y) =
                (dev.zeros(nb * h), dev.zeros(nb * h), dev.zeros(steps * nb * h));
            let (mut gates, mut cp, mut hp) =
                (dev.zeros(steps * nb * g4), dev.zeros(steps * nb * h), dev.zeros(steps * nb * h));
            Cpu64::lstm_forward_steps(
                StepBatch { batch: nb, steps, width: h },
                &dev.upload(&w),
                &dev.upload(&sub),
                &dev.upload(&lens[b0..b0 + nb]),
                LstmState { h: &mut hs, c: &mut c },
                &mut y,
                LstmSavedMut { gates: &mut gates, c_prev: &mut cp, h_prev: &mut hp },
            );
            Cpu64::to_host(&y)
        };
        let all = forward(0, batch);
        for b in 0..batch {
            let one = forward(b, 1);
            for t in 0..steps {
                let got = &all[(t * batch + b) * h..(t * batch + b + 1) * h];
                let want = &one[t * h..(t + 1) * h];
                assert!(
                    got.iter().zip(want).all(|(a, b)| (a - b).abs() <= 1e-12),
                    "sample {b} step {t}"
                );
            }
        }
    }
}
