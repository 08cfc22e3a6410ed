//! Activation kernels (relu, leaky_relu, sigmoid, tanh, gelu) and their derivatives.

use shapeflow_core::{Activation, Elem};

use crate::CpuElem;
#[cfg(target_arch = "x86_64")]
use crate::f32_view::{as_f32, as_f32_mut};

const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// 1/√(2π).
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// `√(2/π)`, GELU's tanh approximation.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

pub(crate) fn sigmoid<E: Elem>(x: E) -> E {
    // Stable for large |x|: never exponentiates a large positive number.
    if x >= E::zero() {
        E::one() / (E::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (E::one() + e)
    }
}

/// Tensors at least this large are processed by every worker, in chunks of [`CHUNK`] (an
/// elementwise map, so the results are the same either way).
const PARALLEL_MIN: usize = 1 << 15;
const CHUNK: usize = 1 << 13;

/// `y = f(x)`.
pub(crate) fn forward<E: CpuElem>(kind: Activation, x: &[E], y: &mut [E]) {
    use rayon::prelude::*;
    if y.len() >= PARALLEL_MIN && x.len() >= y.len() {
        y.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).for_each(|(y, x)| forward_seq(kind, x, y));
    } else {
        forward_seq(kind, x, y);
    }
}

/// [`forward_seq_in`], compiled for AVX2 in f32 where the machine has it (eight lanes instead
/// of baseline x86-64's four: GELU's erf is a polynomial evaluated per value).
fn forward_seq<E: CpuElem>(kind: Activation, x: &[E], y: &mut [E]) {
    #[cfg(target_arch = "x86_64")]
    if crate::f32_view::avx2_fma()
        && let (Some(xf), Some(yf)) = (as_f32(x), as_f32_mut(y))
    {
        // SAFETY: AVX2 and FMA are available (checked just above).
        unsafe { forward_seq_avx2(kind, xf, yf) };
        return;
    }
    forward_seq_in(kind, x, y);
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn forward_seq_avx2(kind: Activation, x: &[f32], y: &mut [f32]) {
    forward_seq_in(kind, x, y);
}

#[inline(always)]
fn forward_seq_in<E: CpuElem>(kind: Activation, x: &[E], y: &mut [E]) {
    let zero = E::zero();
    match kind {
        // NaN passes through, as in PyTorch: a NaN input must reach the loss, not vanish.
        Activation::Relu => y
            .iter_mut()
            .zip(x)
            .for_each(|(o, &v)| *o = if v > zero || v.is_nan() { v } else { zero }),
        Activation::LeakyRelu(s) => {
            let s = E::from_f64(s);
            y.iter_mut().zip(x).for_each(|(o, &v)| *o = if v > zero { v } else { s * v })
        }
        Activation::Sigmoid => y.iter_mut().zip(x).for_each(|(o, &v)| *o = sigmoid(v)),
        Activation::Tanh => y.iter_mut().zip(x).for_each(|(o, &v)| *o = v.tanh()),
        Activation::Gelu => {
            let half = E::from_f64(0.5);
            let r = E::from_f64(FRAC_1_SQRT_2);
            y.iter_mut().zip(x).for_each(|(o, &v)| *o = half * v * (E::one() + (v * r).erf()))
        }
        Activation::GeluTanh => {
            let (half, c, a) =
                (E::from_f64(0.5), E::from_f64(SQRT_2_OVER_PI), E::from_f64(0.044715));
            y.iter_mut()
                .zip(x)
                .for_each(|(o, &v)| *o = half * v * (E::one() + (c * (v + a * v * v * v)).tanh()))
        }
    }
}

/// `dx = f'(·)·dy`; `saved` is the output for relu/sigmoid/tanh, the input otherwise.
pub(crate) fn backward<E: CpuElem>(kind: Activation, saved: &[E], dy: &[E], dx: &mut [E]) {
    use rayon::prelude::*;
    if dx.len() >= PARALLEL_MIN && saved.len() >= dx.len() && dy.len() >= dx.len() {
        dx.par_chunks_mut(CHUNK)
            .zip(saved.par_chunks(CHUNK))
            .zip(dy.par_chunks(CHUNK))
            .for_each(|((dx, s), dy)| backward_seq(kind, s, dy, dx));
    } else {
        backward_seq(kind, saved, dy, dx);
    }
}

/// [`backward_seq_in`], compiled for AVX2 in f32 where the machine has it.
fn backward_seq<E: CpuElem>(kind: Activation, saved: &[E], dy: &[E], dx: &mut [E]) {
    #[cfg(target_arch = "x86_64")]
    if crate::f32_view::avx2_fma()
        && let (Some(s), Some(g), Some(d)) = (as_f32(saved), as_f32(dy), as_f32_mut(dx))
    {
        // SAFETY: AVX2 and FMA are available (checked just above).
        unsafe { backward_seq_avx2(kind, s, g, d) };
        return;
    }
    backward_seq_in(kind, saved, dy, dx);
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn backward_seq_avx2(kind: Activation, saved: &[f32], dy: &[f32], dx: &mut [f32]) {
    backward_seq_in(kind, saved, dy, dx);
}

#[inline(always)]
fn backward_seq_in<E: CpuElem>(kind: Activation, saved: &[E], dy: &[E], dx: &mut [E]) {
    let zero = E::zero();
    let one = E::one();
    let it = dx.iter_mut().zip(saved).zip(dy);
    match kind {
        Activation::Relu => it.for_each(|((o, &y), &g)| *o = if y > zero { g } else { zero }),
        Activation::LeakyRelu(s) => {
            let s = E::from_f64(s);
            it.for_each(|((o, &x), &g)| *o = if x > zero { g } else { s * g })
        }
        Activation::Sigmoid => it.for_each(|((o, &y), &g)| *o = g * y * (one - y)),
        Activation::Tanh => it.for_each(|((o, &y), &g)| *o = g * (one - y * y)),
        Activation::Gelu => {
            let half = E::from_f64(0.5);
            let r = E::from_f64(FRAC_1_SQRT_2);
            let c = E::from_f64(FRAC_1_SQRT_2PI);
            it.for_each(|((o, &x), &g)| {
                let cdf = half * (one + (x * r).erf());
                let pdf = c * (-half * x * x).gate_exp();
                *o = g * (cdf + x * pdf)
            })
        }
        Activation::GeluTanh => {
            let (half, c, a) =
                (E::from_f64(0.5), E::from_f64(SQRT_2_OVER_PI), E::from_f64(0.044715));
            let three_a = E::from_f64(3.0 * 0.044715);
            it.for_each(|((o, &x), &g)| {
                let t = (c * (x + a * x * x * x)).tanh();
                *o = g * (half * (one + t) + half * x * (one - t * t) * c * (one + three_a * x * x))
            })
        }
    }
}
