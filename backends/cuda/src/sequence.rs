//! `impl Sequence for Cuda`, kernels in `kernels/sequence.cu`.

use crate::Cuda;
use crate::launch::*;
use crate::runtime::Runtime;
use crate::storage::CudaBuf;
use shapeflow_core::backend::{
    GruGrads, GruSaved, GruSavedMut, LstmSaved, LstmSavedMut, LstmState, RecurrentStep,
    RnnActivation, RnnGrads, RnnStepMut, Rotary, ScoreMask, Sequence, StepBatch,
};

fn act_code(a: RnnActivation) -> i32 {
    match a {
        RnnActivation::Tanh => 0,
        RnnActivation::Relu => 1,
    }
}

impl Sequence for Cuda {
    unsafe fn lstm_step_unchecked(
        g: RecurrentStep,
        pre: &CudaBuf,
        rec: &CudaBuf,
        lengths: &CudaBuf,
        state: LstmState<'_, CudaBuf>,
        y: &mut CudaBuf,
        saved: LstmSavedMut<'_, CudaBuf>,
    ) {
        let RecurrentStep { step, batch, hidden } = g;
        let rt = y.rt.clone();
        if let (
            Some(p),
            Some(r),
            Some(l),
            Some(h),
            Some(c),
            Some(yd),
            Some(gs),
            Some(cp),
            Some(hp),
        ) = (
            pre.data.as_ref(),
            rec.data.as_ref(),
            lengths.data.as_ref(),
            state.h.data.as_mut(),
            state.c.data.as_mut(),
            y.data.as_mut(),
            saved.gates.data.as_mut(),
            saved.c_prev.data.as_mut(),
            saved.h_prev.data.as_mut(),
        ) {
            launch!(
                &rt,
                "lstm_step",
                Runtime::grid(batch * hidden),
                p,
                r,
                l,
                h,
                c,
                yd,
                gs,
                cp,
                hp,
                &step,
                &batch,
                &hidden
            );
        }
    }

    unsafe fn lstm_step_backward_unchecked(
        g: RecurrentStep,
        lengths: &CudaBuf,
        saved: LstmSaved<'_, CudaBuf>,
        dy: &CudaBuf,
        grad: LstmState<'_, CudaBuf>,
        dpre: &mut CudaBuf,
        dgates: &mut CudaBuf,
    ) {
        let RecurrentStep { step, batch, hidden } = g;
        let rt = dpre.rt.clone();
        if let (Some(l), Some(gs), Some(cp), Some(dyd), Some(dh), Some(dc), Some(dp), Some(dg)) = (
            lengths.data.as_ref(),
            saved.gates.data.as_ref(),
            saved.c_prev.data.as_ref(),
            dy.data.as_ref(),
            grad.h.data.as_mut(),
            grad.c.data.as_mut(),
            dpre.data.as_mut(),
            dgates.data.as_mut(),
        ) {
            launch!(
                &rt,
                "lstm_step_backward",
                Runtime::grid(batch * hidden),
                l,
                gs,
                cp,
                dyd,
                dh,
                dc,
                dp,
                dg,
                &step,
                &batch,
                &hidden
            );
        }
    }

    unsafe fn gru_step_unchecked(
        g: RecurrentStep,
        pre: &CudaBuf,
        rec: &CudaBuf,
        lengths: &CudaBuf,
        h: &mut CudaBuf,
        y: &mut CudaBuf,
        saved: GruSavedMut<'_, CudaBuf>,
    ) {
        let RecurrentStep { step, batch, hidden } = g;
        let rt = y.rt.clone();
        if let (Some(p), Some(r), Some(l), Some(hd), Some(yd), Some(gs), Some(rn), Some(hp)) = (
            pre.data.as_ref(),
            rec.data.as_ref(),
            lengths.data.as_ref(),
            h.data.as_mut(),
            y.data.as_mut(),
            saved.gates.data.as_mut(),
            saved.rec_n.data.as_mut(),
            saved.h_prev.data.as_mut(),
        ) {
            launch!(
                &rt,
                "gru_step",
                Runtime::grid(batch * hidden),
                p,
                r,
                l,
                hd,
                yd,
                gs,
                rn,
                hp,
                &step,
                &batch,
                &hidden
            );
        }
    }

    unsafe fn gru_step_backward_unchecked(
        g: RecurrentStep,
        lengths: &CudaBuf,
        saved: GruSaved<'_, CudaBuf>,
        dy: &CudaBuf,
        dh: &mut CudaBuf,
        grads: GruGrads<'_, CudaBuf>,
    ) {
        let RecurrentStep { step, batch, hidden } = g;
        let rt = dh.rt.clone();
        if let (
            Some(l),
            Some(gs),
            Some(rn),
            Some(hp),
            Some(dyd),
            Some(dhd),
            Some(dp),
            Some(dra),
            Some(dr),
        ) = (
            lengths.data.as_ref(),
            saved.gates.data.as_ref(),
            saved.rec_n.data.as_ref(),
            saved.h_prev.data.as_ref(),
            dy.data.as_ref(),
            dh.data.as_mut(),
            grads.dpre.data.as_mut(),
            grads.drec_all.data.as_mut(),
            grads.drec.data.as_mut(),
        ) {
            launch!(
                &rt,
                "gru_step_backward",
                Runtime::grid(batch * hidden),
                l,
                gs,
                rn,
                hp,
                dyd,
                dhd,
                dp,
                dra,
                dr,
                &step,
                &batch,
                &hidden
            );
        }
    }

    unsafe fn rnn_step_unchecked(
        g: RecurrentStep,
        act: RnnActivation,
        pre: &CudaBuf,
        rec: &CudaBuf,
        lengths: &CudaBuf,
        io: RnnStepMut<'_, CudaBuf>,
    ) {
        let RnnStepMut { h, y, out, h_prev } = io;
        let RecurrentStep { step, batch, hidden } = g;
        let (rt, code) = (y.rt.clone(), act_code(act));
        if let (Some(p), Some(r), Some(l), Some(hd), Some(yd), Some(od), Some(hp)) = (
            pre.data.as_ref(),
            rec.data.as_ref(),
            lengths.data.as_ref(),
            h.data.as_mut(),
            y.data.as_mut(),
            out.data.as_mut(),
            h_prev.data.as_mut(),
        ) {
            launch!(
                &rt,
                "rnn_step",
                Runtime::grid(batch * hidden),
                p,
                r,
                l,
                hd,
                yd,
                od,
                hp,
                &code,
                &step,
                &batch,
                &hidden
            );
        }
    }

    unsafe fn rnn_step_backward_unchecked(
        g: RecurrentStep,
        act: RnnActivation,
        lengths: &CudaBuf,
        out: &CudaBuf,
        dy: &CudaBuf,
        grads: RnnGrads<'_, CudaBuf>,
    ) {
        let RnnGrads { dh, dpre, dgates } = grads;
        let RecurrentStep { step, batch, hidden } = g;
        let (rt, code) = (dh.rt.clone(), act_code(act));
        if let (Some(l), Some(od), Some(dyd), Some(dhd), Some(dp), Some(dg)) = (
            lengths.data.as_ref(),
            out.data.as_ref(),
            dy.data.as_ref(),
            dh.data.as_mut(),
            dpre.data.as_mut(),
            dgates.data.as_mut(),
        ) {
            launch!(
                &rt,
                "rnn_step_backward",
                Runtime::grid(batch * hidden),
                l,
                od,
                dyd,
                dhd,
                dp,
                dg,
                &code,
                &step,
                &batch,
                &hidden
            );
        }
    }

    unsafe fn mask_scores_unchecked(scores: &mut CudaBuf, lengths: &[usize], g: ScoreMask) {
        let ScoreMask { batch, heads, queries, keys, causal } = g;
        let rt = scores.rt.clone();
        let causal = i32::from(causal);
        let Some(lens) = rt.upload_indices(lengths) else { return };
        if let Some(sd) = scores.data.as_mut() {
            launch!(
                &rt,
                "mask_scores",
                Runtime::grid(g.len()),
                sd,
                &lens,
                &batch,
                &heads,
                &queries,
                &keys,
                &causal
            );
        }
    }

    unsafe fn rotary_unchecked(
        x: &CudaBuf,
        y: &mut CudaBuf,
        cos: &CudaBuf,
        sin: &CudaBuf,
        g: Rotary,
    ) {
        let Rotary { blocks, steps, head, inverse } = g;
        let rt = y.rt.clone();
        let inverse = i32::from(inverse);
        if let (Some(xd), Some(yd), Some(cd), Some(sd)) =
            (x.data.as_ref(), y.data.as_mut(), cos.data.as_ref(), sin.data.as_ref())
        {
            launch!(
                &rt,
                "rotary",
                Runtime::grid(g.len() / 2),
                xd,
                yd,
                cd,
                sd,
                &blocks,
                &steps,
                &head,
                &inverse
            );
        }
    }

    unsafe fn zero_padding_unchecked(x: &mut CudaBuf, lengths: &[usize], g: StepBatch) {
        let StepBatch { batch, steps, width } = g;
        let rt = x.rt.clone();
        let Some(lens) = rt.upload_indices(lengths) else { return };
        if let Some(xd) = x.data.as_mut() {
            launch!(&rt, "zero_padding", Runtime::grid(g.len()), xd, &lens, &batch, &steps, &width);
        }
    }

    unsafe fn reverse_steps_unchecked(
        x: &CudaBuf,
        y: &mut CudaBuf,
        lengths: &[usize],
        g: StepBatch,
    ) {
        let StepBatch { batch, steps, width } = g;
        let rt = y.rt.clone();
        let Some(lens) = rt.upload_indices(lengths) else { return };
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(
                &rt,
                "reverse_steps",
                Runtime::grid(g.len()),
                xd,
                yd,
                &lens,
                &batch,
                &steps,
                &width
            );
        }
    }

    unsafe fn gather_rows_unchecked(
        table: &CudaBuf,
        rows: &[usize],
        out: &mut CudaBuf,
        width: usize,
    ) {
        let rt = out.rt.clone();
        let n = rows.len();
        let Some(idx) = rt.upload_indices(rows) else { return };
        if let (Some(t), Some(o)) = (table.data.as_ref(), out.data.as_mut()) {
            launch!(&rt, "gather_rows", Runtime::grid(n * width), t, &idx, o, &n, &width);
        }
    }

    unsafe fn scatter_add_rows_unchecked(
        src: &CudaBuf,
        rows: &[usize],
        table: &mut CudaBuf,
        width: usize,
    ) {
        let rt = table.rt.clone();
        let n = rows.len();
        let Some(idx) = rt.upload_indices(rows) else { return };
        if let (Some(s), Some(t)) = (src.data.as_ref(), table.data.as_mut()) {
            launch!(&rt, "scatter_add_rows", Runtime::grid(n * width), s, &idx, t, &n, &width);
        }
    }

    unsafe fn mean_steps_unchecked(x: &CudaBuf, y: &mut CudaBuf, lengths: &[usize], g: StepBatch) {
        let StepBatch { batch, steps, width } = g;
        let rt = y.rt.clone();
        let Some(lens) = rt.upload_indices(lengths) else { return };
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(
                &rt,
                "mean_steps",
                Runtime::grid(batch * width),
                xd,
                yd,
                &lens,
                &batch,
                &steps,
                &width
            );
        }
    }

    unsafe fn mean_steps_backward_unchecked(
        dy: &CudaBuf,
        dx: &mut CudaBuf,
        lengths: &[usize],
        g: StepBatch,
    ) {
        let StepBatch { batch, steps, width } = g;
        let rt = dx.rt.clone();
        let Some(lens) = rt.upload_indices(lengths) else { return };
        if let (Some(dyd), Some(dxd)) = (dy.data.as_ref(), dx.data.as_mut()) {
            launch!(
                &rt,
                "mean_steps_backward",
                Runtime::grid(g.len()),
                dyd,
                dxd,
                &lens,
                &batch,
                &steps,
                &width
            );
        }
    }
}
