//! Reductions in `f64` over slices in eight interleaved partial sums, so the loops vectorise
//! instead of waiting on one dependent chain of adds: batch norm's per-channel sums and layer
//! norm's row statistics.

use shapeflow_core::Elem;

/// `Σ f(x)` over `x` in `f64`, in eight interleaved partial sums.
#[inline(always)]
pub(crate) fn sum8<E: Elem>(x: &[E], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v.as_f64());
        }
    }
    let mut tail = 0.0;
    for &v in chunks.remainder() {
        tail += f(v.as_f64());
    }
    total8(acc) + tail
}

/// `(Σd, Σd²)` of `d = x − shift` over `x` in `f64`, in eight interleaved partial sums each.
#[inline(always)]
pub(crate) fn sum8_moments<E: Elem>(x: &[E], shift: f64) -> (f64, f64) {
    let (mut sum, mut squares) = ([0.0f64; 8], [0.0f64; 8]);
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for ((s, q), &v) in sum.iter_mut().zip(&mut squares).zip(c) {
            let d = v.as_f64() - shift;
            *s += d;
            *q += d * d;
        }
    }
    let (mut tail_sum, mut tail_squares) = (0.0, 0.0);
    for &v in chunks.remainder() {
        let d = v.as_f64() - shift;
        tail_sum += d;
        tail_squares += d * d;
    }
    (total8(sum) + tail_sum, total8(squares) + tail_squares)
}

/// The sum of eight partial sums, as a tree (no iterator left for the compiler to outline).
#[inline(always)]
fn total8(a: [f64; 8]) -> f64 {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// `(Σdy, Σdy·(x − mean))` over `x` and `dy` in `f64`, in eight interleaved partial sums each.
#[inline(always)]
pub(crate) fn sum8_grads<E: Elem>(x: &[E], dy: &[E], mean: f64) -> (f64, f64) {
    let (mut sum, mut dev) = ([0.0f64; 8], [0.0f64; 8]);
    let (mut xc, mut dc) = (x.chunks_exact(8), dy.chunks_exact(8));
    for (a, b) in (&mut xc).zip(&mut dc) {
        for (((s, e), &u), &d) in sum.iter_mut().zip(&mut dev).zip(a).zip(b) {
            let d = d.as_f64();
            *s += d;
            *e += d * (u.as_f64() - mean);
        }
    }
    let (mut tail_sum, mut tail_dev) = (0.0, 0.0);
    for (&u, &d) in xc.remainder().iter().zip(dc.remainder()) {
        tail_sum += d.as_f64();
        tail_dev += d.as_f64() * (u.as_f64() - mean);
    }
    (total8(sum) + tail_sum, total8(dev) + tail_dev)
}
