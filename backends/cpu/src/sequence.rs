//! `impl Sequence for CpuDevice`: LSTM steps (one sample per row, rows in parallel for large
//! batches), step reversal, row gathers and scatters, masked means over time.

use rayon::prelude::*;
use shapeflow_core::Elem;
use shapeflow_core::backend::{
    LstmSaved, LstmSavedMut, LstmState, RecurrentStep, Sequence, StepBatch,
};

use crate::activation::sigmoid;
use crate::{CpuBuf, CpuDevice, CpuElem};

/// One sample's row of each buffer a forward step writes: `h`, `c`, `y`, gates, `c_prev`,
/// `h_prev`.
type ForwardRow<'a, E> =
    (usize, (((((&'a mut [E], &'a mut [E]), &'a mut [E]), &'a mut [E]), &'a mut [E]), &'a mut [E]));
/// One sample's row of each buffer a backward step writes: `dh`, `dc`, `dpre`, `dgates`.
type BackwardRow<'a, E> = (usize, (((&'a mut [E], &'a mut [E]), &'a mut [E]), &'a mut [E]));

/// Rows of hidden units below which a step runs on one thread.
const PAR_MIN: usize = 1 << 14;

fn running<E: Elem>(lengths: &[E], step: usize, b: usize) -> bool {
    (step as f64) < lengths[b].as_f64()
}

impl<E: CpuElem> Sequence for CpuDevice<E> {
    fn lstm_step(
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
            hpr.copy_from_slice(hs);
            cpr.copy_from_slice(cs);
            if !running(lengths, step, b) {
                yr.fill(E::zero());
                gr.fill(E::zero());
                return;
            }
            let (p, r) = (&pre[b * g4..(b + 1) * g4], &rec[b * g4..(b + 1) * g4]);
            for j in 0..h {
                let i = sigmoid(p[j] + r[j]);
                let f = sigmoid(p[h + j] + r[h + j]);
                let gg = (p[2 * h + j] + r[2 * h + j]).tanh();
                let o = sigmoid(p[3 * h + j] + r[3 * h + j]);
                let c = f * cs[j] + i * gg;
                cs[j] = c;
                hs[j] = o * c.tanh();
                yr[j] = hs[j];
                (gr[j], gr[h + j], gr[2 * h + j], gr[3 * h + j]) = (i, f, gg, o);
            }
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

    fn lstm_step_backward(
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
        let one = E::one();
        let row = |(b, (((dh, dc), dpr), dgr)): BackwardRow<'_, E>| {
            if !running(lengths, step, b) {
                dpr.fill(E::zero());
                dgr.fill(E::zero());
                return;
            }
            let gr = &gates[b * g4..(b + 1) * g4];
            let (cp, dyr) = (&cprev[b * h..(b + 1) * h], &dys[b * h..(b + 1) * h]);
            for j in 0..h {
                let (i, f, gg, o) = (gr[j], gr[h + j], gr[2 * h + j], gr[3 * h + j]);
                let c = f * cp[j] + i * gg;
                let tc = c.tanh();
                let dht = dh[j] + dyr[j];
                let dct = dc[j] + dht * o * (one - tc * tc);
                let di = dct * gg * i * (one - i);
                let df = dct * cp[j] * f * (one - f);
                let dg = dct * i * (one - gg * gg);
                let d_o = dht * tc * o * (one - o);
                (dpr[j], dpr[h + j], dpr[2 * h + j], dpr[3 * h + j]) = (di, df, dg, d_o);
                dc[j] = dct * f;
                dh[j] = E::zero();
            }
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

    fn reverse_steps(x: &CpuBuf<E>, y: &mut CpuBuf<E>, lengths: &[usize], g: StepBatch) {
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

    fn gather_rows(table: &CpuBuf<E>, rows: &[usize], out: &mut CpuBuf<E>, width: usize) {
        for (o, &r) in out.chunks_mut(width).zip(rows) {
            match table.get(r.saturating_mul(width)..r.saturating_mul(width).saturating_add(width))
            {
                Some(src) => o.copy_from_slice(src),
                None => o.fill(E::nan()),
            }
        }
    }

    fn scatter_add_rows(src: &CpuBuf<E>, rows: &[usize], table: &mut CpuBuf<E>, width: usize) {
        for (s, &r) in src.chunks(width).zip(rows) {
            let lo = r.saturating_mul(width);
            if let Some(dst) = table.get_mut(lo..lo.saturating_add(width)) {
                dst.iter_mut().zip(s).for_each(|(d, &v)| *d = *d + v);
            }
        }
    }

    fn mean_steps(x: &CpuBuf<E>, y: &mut CpuBuf<E>, lengths: &[usize], g: StepBatch) {
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

    fn mean_steps_backward(dy: &CpuBuf<E>, dx: &mut CpuBuf<E>, lengths: &[usize], g: StepBatch) {
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
