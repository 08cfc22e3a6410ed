//! `impl Sequence for CpuDevice`: LSTM steps (one sample per row, rows in parallel for large
//! batches), step reversal, row gathers and scatters, masked means over time.

use rayon::prelude::*;
use shapeflow_core::backend::{
    GruGrads, GruSaved, GruSavedMut, LstmSaved, LstmSavedMut, LstmState, RecurrentStep,
    RnnActivation, RnnGrads, RnnStepMut, Rotary, ScoreMask, Sequence, StepBatch,
};

use crate::lstm_rows::{lstm_backward_row, lstm_forward_row, running};
use crate::{CpuBuf, CpuDevice, CpuElem};

/// One sample's row of each buffer a forward step writes: `h`, `c`, `y`, gates, `c_prev`,
/// `h_prev`.
type ForwardRow<'a, E> =
    (usize, (((((&'a mut [E], &'a mut [E]), &'a mut [E]), &'a mut [E]), &'a mut [E]), &'a mut [E]));
/// One sample's row of each buffer a backward step writes: `dh`, `dc`, `dpre`, `dgates`.
type BackwardRow<'a, E> = (usize, (((&'a mut [E], &'a mut [E]), &'a mut [E]), &'a mut [E]));

/// One sample's row of each buffer a GRU step writes: `h`, `y`, gates, `rec_n`, `h_prev`.
type GruRow<'a, E> =
    (usize, ((((&'a mut [E], &'a mut [E]), &'a mut [E]), &'a mut [E]), &'a mut [E]));
/// One sample's row of each buffer a GRU backward step writes: `dh`, `dpre`, `drec_all`, `drec`.
type GruBackRow<'a, E> = (usize, (((&'a mut [E], &'a mut [E]), &'a mut [E]), &'a mut [E]));

/// Rows of hidden units below which a step runs on one thread.
const PAR_MIN: usize = 1 << 11;

impl<E: CpuElem> Sequence for CpuDevice<E> {
    unsafe fn lstm_step_unchecked(
        g: RecurrentStep,
        pre: &CpuBuf<E>,
        rec: &CpuBuf<E>,
        lengths: &CpuBuf<E>,
        state: LstmState<'_, CpuBuf<E>>,
        y: &mut CpuBuf<E>,
        saved: LstmSavedMut<'_, CpuBuf<E>>,
    ) {
        let RecurrentStep { step, batch, hidden: h } = g;
        let (g4, at, at4) = (4 * h, step * batch * h, step * batch * 4 * h);
        let pre = &pre[at4..at4 + batch * g4];
        let (ys, gates) = (&mut y[at..at + batch * h], &mut saved.gates[at4..at4 + batch * g4]);
        let (cp, hp) =
            (&mut saved.c_prev[at..at + batch * h], &mut saved.h_prev[at..at + batch * h]);
        let row = |(b, (((((hs, cs), yr), gr), cpr), hpr)): ForwardRow<'_, E>| {
            let run = running(lengths, step, b);
            let (p, r) = (&pre[b * g4..(b + 1) * g4], &rec[b * g4..(b + 1) * g4]);
            lstm_forward_row(run, (p, r), (hs, cs), (yr, gr, cpr, hpr));
        };
        let it = state
            .h
            .chunks_mut(h)
            .zip(state.c.chunks_mut(h))
            .zip(ys.chunks_mut(h))
            .zip(gates.chunks_mut(g4))
            .zip(cp.chunks_mut(h))
            .zip(hp.chunks_mut(h));
        if batch * h >= PAR_MIN {
            let rows: Vec<_> = it.enumerate().collect();
            rows.into_par_iter().for_each(row);
        } else {
            it.enumerate().for_each(row);
        }
    }

    unsafe fn lstm_step_backward_unchecked(
        g: RecurrentStep,
        lengths: &CpuBuf<E>,
        saved: LstmSaved<'_, CpuBuf<E>>,
        dy: &CpuBuf<E>,
        grad: LstmState<'_, CpuBuf<E>>,
        dpre: &mut CpuBuf<E>,
        dgates: &mut CpuBuf<E>,
    ) {
        let RecurrentStep { step, batch, hidden: h } = g;
        let (g4, at, at4) = (4 * h, step * batch * h, step * batch * 4 * h);
        let gates = &saved.gates[at4..at4 + batch * g4];
        let cprev = &saved.c_prev[at..at + batch * h];
        let dys = &dy[at..at + batch * h];
        let dp = &mut dpre[at4..at4 + batch * g4];
        let row = |(b, (((dh, dc), dpr), dgr)): BackwardRow<'_, E>| {
            let run = running(lengths, step, b);
            let saved = (&gates[b * g4..(b + 1) * g4], &cprev[b * h..(b + 1) * h]);
            lstm_backward_row(run, saved, &dys[b * h..(b + 1) * h], (dh, dc), dpr);
            dgr.copy_from_slice(dpr);
        };
        let it = grad
            .h
            .chunks_mut(h)
            .zip(grad.c.chunks_mut(h))
            .zip(dp.chunks_mut(g4))
            .zip(dgates.chunks_mut(g4));
        if batch * h >= PAR_MIN {
            let rows: Vec<_> = it.enumerate().collect();
            rows.into_par_iter().for_each(row);
        } else {
            it.enumerate().for_each(row);
        }
    }

    unsafe fn lstm_forward_steps_unchecked(
        g: StepBatch,
        w_hh: &CpuBuf<E>,
        pre: &CpuBuf<E>,
        lengths: &CpuBuf<E>,
        state: LstmState<'_, CpuBuf<E>>,
        y: &mut CpuBuf<E>,
        saved: LstmSavedMut<'_, CpuBuf<E>>,
    ) {
        let buffers = crate::recurrence::LstmForward {
            pre,
            lengths,
            h: state.h,
            c: state.c,
            y,
            gates: saved.gates,
            c_prev: saved.c_prev,
            h_prev: saved.h_prev,
        };
        crate::recurrence::lstm_forward(g, w_hh, buffers);
    }

    unsafe fn lstm_backward_steps_unchecked(
        g: StepBatch,
        w_hh: &CpuBuf<E>,
        lengths: &CpuBuf<E>,
        saved: LstmSaved<'_, CpuBuf<E>>,
        dy: &CpuBuf<E>,
        grad: LstmState<'_, CpuBuf<E>>,
        dpre: &mut CpuBuf<E>,
    ) {
        let buffers = crate::recurrence::LstmBackward {
            lengths,
            gates: saved.gates,
            c_prev: saved.c_prev,
            dy,
            dh: grad.h,
            dc: grad.c,
            dpre,
        };
        crate::recurrence::lstm_backward(g, w_hh, buffers);
    }

    unsafe fn gru_step_unchecked(
        g: RecurrentStep,
        pre: &CpuBuf<E>,
        rec: &CpuBuf<E>,
        lengths: &CpuBuf<E>,
        h: &mut CpuBuf<E>,
        y: &mut CpuBuf<E>,
        saved: GruSavedMut<'_, CpuBuf<E>>,
    ) {
        let RecurrentStep { step, batch, hidden: hd } = g;
        let (g3, at, at3) = (3 * hd, step * batch * hd, step * batch * 3 * hd);
        let pre = &pre[at3..at3 + batch * g3];
        let ys = &mut y[at..at + batch * hd];
        let gates = &mut saved.gates[at3..at3 + batch * g3];
        let rn = &mut saved.rec_n[at..at + batch * hd];
        let hp = &mut saved.h_prev[at..at + batch * hd];
        let one = E::one();
        let row = |(b, ((((hs, yr), gr), rnr), hpr)): GruRow<'_, E>| {
            hpr.copy_from_slice(hs);
            if !running(lengths, step, b) {
                yr.fill(E::zero());
                gr.fill(E::zero());
                rnr.fill(E::zero());
                return;
            }
            let (p, r) = (&pre[b * g3..(b + 1) * g3], &rec[b * g3..(b + 1) * g3]);
            for j in 0..hd {
                let rg = (p[j] + r[j]).gate_sigmoid();
                let z = (p[hd + j] + r[hd + j]).gate_sigmoid();
                let n = (p[2 * hd + j] + rg * r[2 * hd + j]).gate_tanh();
                let new = (one - z) * n + z * hs[j];
                hs[j] = new;
                yr[j] = new;
                (gr[j], gr[hd + j], gr[2 * hd + j], rnr[j]) = (rg, z, n, r[2 * hd + j]);
            }
        };
        let it = h
            .chunks_mut(hd)
            .zip(ys.chunks_mut(hd))
            .zip(gates.chunks_mut(g3))
            .zip(rn.chunks_mut(hd))
            .zip(hp.chunks_mut(hd));
        if batch * hd >= PAR_MIN {
            let rows: Vec<_> = it.enumerate().collect();
            rows.into_par_iter().for_each(row);
        } else {
            it.enumerate().for_each(row);
        }
    }

    unsafe fn gru_step_backward_unchecked(
        g: RecurrentStep,
        lengths: &CpuBuf<E>,
        saved: GruSaved<'_, CpuBuf<E>>,
        dy: &CpuBuf<E>,
        dh: &mut CpuBuf<E>,
        grads: GruGrads<'_, CpuBuf<E>>,
    ) {
        let RecurrentStep { step, batch, hidden: hd } = g;
        let (g3, at, at3) = (3 * hd, step * batch * hd, step * batch * 3 * hd);
        let gates = &saved.gates[at3..at3 + batch * g3];
        let (rn, hp, dys) = (&saved.rec_n[at..], &saved.h_prev[at..], &dy[at..]);
        let dp = &mut grads.dpre[at3..at3 + batch * g3];
        let dra = &mut grads.drec_all[at3..at3 + batch * g3];
        let one = E::one();
        let row = |(b, (((dhr, dpr), drar), drr)): GruBackRow<'_, E>| {
            if !running(lengths, step, b) {
                dpr.fill(E::zero());
                drar.fill(E::zero());
                drr.fill(E::zero());
                return;
            }
            let gr = &gates[b * g3..(b + 1) * g3];
            for j in 0..hd {
                let (rg, z, n) = (gr[j], gr[hd + j], gr[2 * hd + j]);
                let k = b * hd + j;
                let dht = dhr[j] + dys[k];
                let dn = dht * (one - z) * (one - n * n);
                let dz = dht * (hp[k] - n) * z * (one - z);
                let dr = dn * rn[k] * rg * (one - rg);
                (dpr[j], dpr[hd + j], dpr[2 * hd + j]) = (dr, dz, dn);
                (drar[j], drar[hd + j], drar[2 * hd + j]) = (dr, dz, dn * rg);
                dhr[j] = dht * z;
            }
            drr.copy_from_slice(drar);
        };
        let it = dh
            .chunks_mut(hd)
            .zip(dp.chunks_mut(g3))
            .zip(dra.chunks_mut(g3))
            .zip(grads.drec.chunks_mut(g3));
        if batch * hd >= PAR_MIN {
            let rows: Vec<_> = it.enumerate().collect();
            rows.into_par_iter().for_each(row);
        } else {
            it.enumerate().for_each(row);
        }
    }

    unsafe fn rnn_step_unchecked(
        g: RecurrentStep,
        act: RnnActivation,
        pre: &CpuBuf<E>,
        rec: &CpuBuf<E>,
        lengths: &CpuBuf<E>,
        io: RnnStepMut<'_, CpuBuf<E>>,
    ) {
        let RnnStepMut { h, y, out, h_prev } = io;
        let RecurrentStep { step, batch, hidden: hd } = g;
        let at = step * batch * hd;
        for b in 0..batch {
            let k = at + b * hd;
            let hs = &mut h[b * hd..(b + 1) * hd];
            h_prev[k..k + hd].copy_from_slice(hs);
            if !running(lengths, step, b) {
                y[k..k + hd].fill(E::zero());
                out[k..k + hd].fill(E::zero());
                continue;
            }
            for j in 0..hd {
                let a = pre[k + j] + rec[b * hd + j];
                let v = match act {
                    RnnActivation::Tanh => a.gate_tanh(),
                    RnnActivation::Relu => {
                        if a > E::zero() || a.is_nan() {
                            a
                        } else {
                            E::zero()
                        }
                    }
                };
                hs[j] = v;
                y[k + j] = v;
                out[k + j] = v;
            }
        }
    }

    unsafe fn rnn_step_backward_unchecked(
        g: RecurrentStep,
        act: RnnActivation,
        lengths: &CpuBuf<E>,
        out: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        grads: RnnGrads<'_, CpuBuf<E>>,
    ) {
        let RnnGrads { dh, dpre, dgates } = grads;
        let RecurrentStep { step, batch, hidden: hd } = g;
        let at = step * batch * hd;
        for b in 0..batch {
            let k = at + b * hd;
            if !running(lengths, step, b) {
                dpre[k..k + hd].fill(E::zero());
                dgates[b * hd..(b + 1) * hd].fill(E::zero());
                continue;
            }
            for j in 0..hd {
                let v = out[k + j];
                let d = dh[b * hd + j] + dy[k + j];
                let da = match act {
                    RnnActivation::Tanh => d * (E::one() - v * v),
                    RnnActivation::Relu => {
                        if v > E::zero() {
                            d
                        } else {
                            E::zero()
                        }
                    }
                };
                dpre[k + j] = da;
                dgates[b * hd + j] = da;
                dh[b * hd + j] = E::zero();
            }
        }
    }

    unsafe fn mask_scores_unchecked(scores: &mut CpuBuf<E>, lengths: &[usize], g: ScoreMask) {
        let ScoreMask { heads, queries, keys: t, causal, .. } = g;
        for (bh, block) in scores.chunks_mut(queries * t).enumerate().take(g.batch * heads) {
            let len = lengths.get(bh / heads).copied().unwrap_or(t).min(t);
            for (q, row) in block.chunks_mut(t).enumerate() {
                let end = if causal { len.min(q + 1) } else { len };
                row[end..].fill(E::neg_infinity());
            }
        }
    }

    unsafe fn rotary_unchecked(
        x: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        cos: &CpuBuf<E>,
        sin: &CpuBuf<E>,
        g: Rotary,
    ) {
        let Rotary { steps, head, inverse, .. } = g;
        let half = head / 2;
        for (i, (xr, yr)) in
            x.chunks(head).zip(y.chunks_mut(head)).enumerate().take(g.blocks * steps)
        {
            let t = i % steps;
            let (c, s) = (&cos[t * half..(t + 1) * half], &sin[t * half..(t + 1) * half]);
            for j in 0..half {
                let sn = if inverse { -s[j] } else { s[j] };
                let (a, b) = (xr[j], xr[half + j]);
                yr[j] = a * c[j] - b * sn;
                yr[half + j] = b * c[j] + a * sn;
            }
        }
    }

    unsafe fn zero_padding_unchecked(x: &mut CpuBuf<E>, lengths: &[usize], g: StepBatch) {
        let StepBatch { steps, width, .. } = g;
        if lengths.iter().all(|&len| len >= steps) {
            return; // nothing padded: leave a shared buffer shared
        }
        for (row, &len) in x.chunks_mut(steps * width).zip(lengths) {
            row[len.min(steps) * width..].fill(E::zero());
        }
    }

    unsafe fn reverse_steps_unchecked(
        x: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        lengths: &[usize],
        g: StepBatch,
    ) {
        let StepBatch { batch, steps, width: w } = g;
        for t in 0..steps {
            for (b, &len) in lengths.iter().enumerate().take(batch) {
                let out = &mut y[(t * batch + b) * w..(t * batch + b + 1) * w];
                if t < len {
                    let src = ((len - 1 - t) * batch + b) * w;
                    out.copy_from_slice(&x[src..src + w]);
                } else {
                    out.fill(E::zero());
                }
            }
        }
    }

    unsafe fn gather_rows_unchecked(
        table: &CpuBuf<E>,
        rows: &[usize],
        out: &mut CpuBuf<E>,
        width: usize,
    ) {
        for (o, &r) in out.chunks_mut(width).zip(rows) {
            match table.get(r.saturating_mul(width)..r.saturating_mul(width).saturating_add(width))
            {
                Some(src) => o.copy_from_slice(src),
                None => o.fill(E::nan()),
            }
        }
    }

    unsafe fn scatter_add_rows_unchecked(
        src: &CpuBuf<E>,
        rows: &[usize],
        table: &mut CpuBuf<E>,
        width: usize,
    ) {
        for (s, &r) in src.chunks(width).zip(rows) {
            let lo = r.saturating_mul(width);
            if let Some(dst) = table.get_mut(lo..lo.saturating_add(width)) {
                dst.iter_mut().zip(s).for_each(|(d, &v)| *d = *d + v);
            }
        }
    }

    unsafe fn mean_steps_unchecked(
        x: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        lengths: &[usize],
        g: StepBatch,
    ) {
        let StepBatch { steps, width: w, .. } = g;
        for (b, (yr, &len)) in y.chunks_mut(w).zip(lengths).enumerate() {
            yr.fill(E::zero());
            for t in 0..len.min(steps) {
                let row = &x[(b * steps + t) * w..(b * steps + t + 1) * w];
                yr.iter_mut().zip(row).for_each(|(o, &v)| *o = *o + v);
            }
            let inv = E::one() / E::from_f64(len.max(1) as f64);
            yr.iter_mut().for_each(|o| *o = *o * inv);
        }
    }

    unsafe fn mean_steps_backward_unchecked(
        dy: &CpuBuf<E>,
        dx: &mut CpuBuf<E>,
        lengths: &[usize],
        g: StepBatch,
    ) {
        let StepBatch { steps, width: w, .. } = g;
        for (b, &len) in lengths.iter().enumerate().take(g.batch) {
            let inv = E::one() / E::from_f64(len.max(1) as f64);
            let d = &dy[b * w..(b + 1) * w];
            for t in 0..steps {
                let row = &mut dx[(b * steps + t) * w..(b * steps + t + 1) * w];
                if t < len {
                    row.iter_mut().zip(d).for_each(|(o, &v)| *o = v * inv);
                } else {
                    row.fill(E::zero());
                }
            }
        }
    }
}
