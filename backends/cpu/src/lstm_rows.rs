//! One sample's LSTM step, forward and backward, on its row of the batch (AVX2 in f32, else
//! scalar): the kernels `Sequence`'s LSTM steps and the whole-direction recurrence run per row.

use shapeflow_core::Elem;

use crate::CpuElem;
#[cfg(target_arch = "x86_64")]
use crate::f32_view::{as_f32, as_f32_mut};

/// Whether sample `b` (of length `lengths[b]`) runs at `step`.
pub(crate) fn running<E: Elem>(lengths: &[E], step: usize, b: usize) -> bool {
    (step as f64) < lengths[b].as_f64()
}

/// One sample's LSTM step: from its input projection and recurrent product (`p`, `r`, `4·h`
/// each) the new state `(h, c)` in place, its output, activated gates and the states before the
/// step saved. A finished sample (`run` false) outputs zeros and keeps its state.
pub(crate) fn lstm_forward_row<E: CpuElem>(
    run: bool,
    (p, r): (&[E], &[E]),
    (hs, cs): (&mut [E], &mut [E]),
    (yr, gr, cpr, hpr): (&mut [E], &mut [E], &mut [E], &mut [E]),
) {
    #[cfg(target_arch = "x86_64")]
    if crate::f32_view::avx2_fma()
        && let (Some(p), Some(r), Some(hs), Some(cs)) =
            (as_f32(p), as_f32(r), as_f32_mut(hs), as_f32_mut(cs))
        && let (Some(yr), Some(gr), Some(cpr), Some(hpr)) =
            (as_f32_mut(yr), as_f32_mut(gr), as_f32_mut(cpr), as_f32_mut(hpr))
    {
        // SAFETY: AVX2 and FMA are available (checked just above).
        unsafe { lstm_forward_row_avx2(run, (p, r), (hs, cs), (yr, gr, cpr, hpr)) };
        return;
    }
    lstm_forward_row_in(run, (p, r), (hs, cs), (yr, gr, cpr, hpr));
}

/// [`lstm_forward_row`] in `f32`, compiled for AVX2 (eight lanes instead of SSE's four).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn lstm_forward_row_avx2(
    run: bool,
    pr: (&[f32], &[f32]),
    st: (&mut [f32], &mut [f32]),
    out: (&mut [f32], &mut [f32], &mut [f32], &mut [f32]),
) {
    lstm_forward_row_in(run, pr, st, out);
}

#[inline(always)]
fn lstm_forward_row_in<E: CpuElem>(
    run: bool,
    (p, r): (&[E], &[E]),
    (hs, cs): (&mut [E], &mut [E]),
    (yr, gr, cpr, hpr): (&mut [E], &mut [E], &mut [E], &mut [E]),
) {
    let h = hs.len();
    hpr.copy_from_slice(hs);
    cpr.copy_from_slice(cs);
    if !run {
        yr.fill(E::zero());
        gr.fill(E::zero());
        return;
    }
    // Each gate's block as its own slice, so the loop runs without bounds checks and
    // vectorises (the gate functions are branch-free).
    let (pi, pf, pg, po) = (&p[..h], &p[h..2 * h], &p[2 * h..3 * h], &p[3 * h..4 * h]);
    let (ri, rf, rg, ro) = (&r[..h], &r[h..2 * h], &r[2 * h..3 * h], &r[3 * h..4 * h]);
    let (gi, rest) = gr.split_at_mut(h);
    let (gf, rest) = rest.split_at_mut(h);
    let (gg, go) = rest.split_at_mut(h);
    for j in 0..h {
        let i = (pi[j] + ri[j]).gate_sigmoid();
        let f = (pf[j] + rf[j]).gate_sigmoid();
        let g = (pg[j] + rg[j]).gate_tanh();
        let o = (po[j] + ro[j]).gate_sigmoid();
        let c = f * cs[j] + i * g;
        cs[j] = c;
        let hv = o * c.gate_tanh();
        hs[j] = hv;
        yr[j] = hv;
        (gi[j], gf[j], gg[j], go[j]) = (i, f, g, o);
    }
}

/// The backward of [`lstm_forward_row`]: from the step's saved gates and cell state before it,
/// its output gradient `dyr` and the state gradient after it (`dh`, `dc`), the gates'
/// pre-activation gradient into `dpr` and `dc` before the step; `dh` is zeroed for the caller
/// to add `dgates·W_hh` into. A finished sample gets zeros in `dpr` and keeps `dh`, `dc`.
pub(crate) fn lstm_backward_row<E: CpuElem>(
    run: bool,
    (gr, cp): (&[E], &[E]),
    dyr: &[E],
    (dh, dc): (&mut [E], &mut [E]),
    dpr: &mut [E],
) {
    #[cfg(target_arch = "x86_64")]
    if crate::f32_view::avx2_fma()
        && let (Some(gr), Some(cp), Some(dyr)) = (as_f32(gr), as_f32(cp), as_f32(dyr))
        && let (Some(dh), Some(dc), Some(dpr)) = (as_f32_mut(dh), as_f32_mut(dc), as_f32_mut(dpr))
    {
        // SAFETY: AVX2 and FMA are available (checked just above).
        unsafe { lstm_backward_row_avx2(run, (gr, cp), dyr, (dh, dc), dpr) };
        return;
    }
    lstm_backward_row_in(run, (gr, cp), dyr, (dh, dc), dpr);
}

/// [`lstm_backward_row`] in `f32`, compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn lstm_backward_row_avx2(
    run: bool,
    saved: (&[f32], &[f32]),
    dyr: &[f32],
    grad: (&mut [f32], &mut [f32]),
    dpr: &mut [f32],
) {
    lstm_backward_row_in(run, saved, dyr, grad, dpr);
}

#[inline(always)]
fn lstm_backward_row_in<E: CpuElem>(
    run: bool,
    (gr, cp): (&[E], &[E]),
    dyr: &[E],
    (dh, dc): (&mut [E], &mut [E]),
    dpr: &mut [E],
) {
    if !run {
        dpr.fill(E::zero());
        return;
    }
    let (h, one) = (dh.len(), E::one());
    let (gi, gf, gg, go) = (&gr[..h], &gr[h..2 * h], &gr[2 * h..3 * h], &gr[3 * h..4 * h]);
    let (cp, dyr) = (&cp[..h], &dyr[..h]);
    let (di, rest) = dpr.split_at_mut(h);
    let (df, rest) = rest.split_at_mut(h);
    let (dg, d_o) = rest.split_at_mut(h);
    let dc = &mut dc[..h];
    for j in 0..h {
        let (i, f, g, o) = (gi[j], gf[j], gg[j], go[j]);
        let c = f * cp[j] + i * g;
        let tc = c.gate_tanh();
        let dht = dh[j] + dyr[j];
        let dct = dc[j] + dht * o * (one - tc * tc);
        di[j] = dct * g * i * (one - i);
        df[j] = dct * cp[j] * f * (one - f);
        dg[j] = dct * i * (one - g * g);
        d_o[j] = dht * tc * o * (one - o);
        dc[j] = dct * f;
        dh[j] = E::zero();
    }
}
