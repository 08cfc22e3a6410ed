//! Reductions in `f64` over slices in eight interleaved partial sums, so the loops vectorise
//! instead of waiting on one dependent chain of adds: batch norm's per-channel sums and layer
//! norm's row statistics.

use shapeflow_core::Elem;

use crate::activation::relu_backward;

/// `Σ f(x)` over `x` in `f64`, in eight interleaved partial sums.
#[inline(always)]
pub(crate) fn sum8<E: Elem>(x: &[E], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let (chunks, rest) = x.as_chunks::<8>();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(&lanes(c).0) {
            *a += f(v);
        }
    }
    let mut tail = 0.0;
    for &v in rest {
        tail += f(v.as_f64());
    }
    total8(acc) + tail
}

/// A chunk of eight values in `f64`. The reductions take whole `[E; 8]` chunks
/// (`as_chunks`) and compute on [`F64x8`] values, one short loop per operation, one sum per
/// loop over a slice: so the compiler vectorises across the eight lanes (given slices, or
/// updating two sums in one loop, it kept a bounds check per value or paired each lane's two
/// sums in a vector and converted the values one at a time).
#[inline(always)]
fn lanes<E: Elem>(c: &[E; 8]) -> F64x8 {
    let mut v = [0.0f64; 8];
    for (v, &c) in v.iter_mut().zip(c) {
        *v = c.as_f64();
    }
    F64x8(v)
}

/// Eight partial sums (or values) in `f64`.
#[derive(Clone, Copy, Default)]
struct F64x8([f64; 8]);

impl F64x8 {
    #[inline(always)]
    fn zip(self, other: F64x8, f: impl Fn(f64, f64) -> f64) -> F64x8 {
        let mut out = self.0;
        for (o, &b) in out.iter_mut().zip(&other.0) {
            *o = f(*o, b);
        }
        F64x8(out)
    }
    #[inline(always)]
    fn minus(self, c: f64) -> F64x8 {
        self.zip(F64x8([c; 8]), |a, b| a - b)
    }
}

impl std::ops::Add for F64x8 {
    type Output = F64x8;
    #[inline(always)]
    fn add(self, other: F64x8) -> F64x8 {
        self.zip(other, |a, b| a + b)
    }
}

impl std::ops::Mul for F64x8 {
    type Output = F64x8;
    #[inline(always)]
    fn mul(self, other: F64x8) -> F64x8 {
        self.zip(other, |a, b| a * b)
    }
}

/// `(Σd, Σd²)` of `d = x − shift` over `x` in `f64`, in eight interleaved partial sums each.
#[inline(always)]
pub(crate) fn sum8_moments<E: Elem>(x: &[E], shift: f64) -> (f64, f64) {
    let (mut sum, mut squares) = (F64x8::default(), F64x8::default());
    let (chunks, rest) = x.as_chunks::<8>();
    // Two loops over the (cached) slice, one per sum: in one loop the compiler pairs each
    // lane's two sums in a vector and converts the values one at a time.
    for c in chunks {
        sum = sum + lanes(c).minus(shift);
    }
    for c in chunks {
        let d = lanes(c).minus(shift);
        squares = squares + d * d;
    }
    let (mut tail_sum, mut tail_squares) = (0.0, 0.0);
    for &v in rest {
        let d = v.as_f64() - shift;
        tail_sum += d;
        tail_squares += d * d;
    }
    (total8(sum.0) + tail_sum, total8(squares.0) + tail_squares)
}

/// The sum of eight partial sums, as a tree (no iterator left for the compiler to outline).
#[inline(always)]
fn total8(a: [f64; 8]) -> f64 {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// `(Σg, Σg·(x − mean))` over `x` and the gradient `g`: `dy`, or with `gate` (the output of
/// a ReLU that read the batch norm's output) `dy` where `gate > 0` and zero elsewhere, as
/// `Relu`'s backward forms it; in `f64`, eight interleaved partial sums each, added in the
/// same order either way.
#[inline(always)]
pub(crate) fn sum8_grads<E: Elem>(x: &[E], dy: &[E], gate: Option<&[E]>, mean: f64) -> (f64, f64) {
    let mut acc = GradSums::default();
    match gate {
        None => acc.add(x, dy, mean),
        Some(y) => {
            // The gated gradients a block at a time, in a loop of their own: a select on
            // whole vectors (written into the chunked sums, each value's gate compiled to a
            // branch around its load).
            let mut g = [E::zero(); GATE_BLOCK];
            let blocks = x.chunks(GATE_BLOCK).zip(dy.chunks(GATE_BLOCK)).zip(y.chunks(GATE_BLOCK));
            for ((xb, db), yb) in blocks {
                let g = &mut g[..db.len()];
                g.iter_mut().zip(db).zip(yb).for_each(|((g, &d), &y)| *g = relu_backward(d, y));
                acc.add(xb, g, mean);
            }
        }
    }
    acc.total()
}

/// Values gated at a time in [`sum8_grads`]: a whole number of chunks of eight, so only the
/// last block leaves a remainder and the sums' order is that of the ungated slice.
const GATE_BLOCK: usize = 256;

/// The partial sums of [`sum8_grads`]: eight lanes of `Σg` and of `Σg·(x − mean)`, and the
/// values past the last whole chunk.
#[derive(Default)]
struct GradSums {
    sum: F64x8,
    dev: F64x8,
    tail_sum: f64,
    tail_dev: f64,
}

impl GradSums {
    /// Adds `x` and `g` (whole chunks, then the remainder).
    #[inline(always)]
    fn add<E: Elem>(&mut self, x: &[E], g: &[E], mean: f64) {
        let ((xc, x_rest), (gc, g_rest)) = (x.as_chunks::<8>(), g.as_chunks::<8>());
        let (mut sum, mut dev) = (self.sum, self.dev);
        // Two loops, one per sum, as in `sum8_moments`.
        for b in gc {
            sum = sum + lanes(b);
        }
        for (a, b) in xc.iter().zip(gc) {
            dev = dev + lanes(b) * lanes(a).minus(mean);
        }
        (self.sum, self.dev) = (sum, dev);
        for (&u, &d) in x_rest.iter().zip(g_rest) {
            self.tail_sum += d.as_f64();
            self.tail_dev += d.as_f64() * (u.as_f64() - mean);
        }
    }

    #[inline(always)]
    fn total(&self) -> (f64, f64) {
        (total8(self.sum.0) + self.tail_sum, total8(self.dev.0) + self.tail_dev)
    }
}
