//! [`Lanes`]: one value per tile of a chunk of tiles, and the transforms' 1-D matrices
//! (`Bᵀ`, `Aᵀ`, `A`) on it.

use super::{LANES, TILE, WIN};
use crate::CpuElem;

/// One value per tile of a chunk of [`LANES`] consecutive tiles: the transforms' arithmetic
/// runs on whole chunks, each operation a short fixed loop that compiles to one vector
/// instruction.
#[derive(Clone, Copy)]
pub(super) struct Lanes<E>(pub(super) [E; LANES]);

impl<E: CpuElem> Lanes<E> {
    #[inline(always)]
    fn zip(self, other: Self, f: impl Fn(E, E) -> E) -> Self {
        let mut out = self.0;
        for (o, &b) in out.iter_mut().zip(&other.0) {
            *o = f(*o, b);
        }
        Lanes(out)
    }

    /// `c · self`.
    #[inline(always)]
    fn times(self, c: f64) -> Self {
        let (c, mut out) = (E::from_f64(c), self.0);
        for o in &mut out {
            *o = c * *o;
        }
        Lanes(out)
    }
}

impl<E: CpuElem> std::ops::Add for Lanes<E> {
    type Output = Self;
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self.zip(other, |a, b| a + b)
    }
}

impl<E: CpuElem> std::ops::Sub for Lanes<E> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        self.zip(other, |a, b| a - b)
    }
}

/// `Bᵀ·d` with `Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0;
/// 0 2 −1 −2 1 0; 0 4 0 −5 0 1]`.
#[inline(always)]
pub(super) fn b_t<E: CpuElem>([d0, d1, d2, d3, d4, d5]: [Lanes<E>; WIN]) -> [Lanes<E>; WIN] {
    let (a, b) = (d4 - d2.times(4.0), d3 - d1.times(4.0));
    let (c, e) = (d4 - d2, (d3 - d1).times(2.0));
    let first = d0.times(4.0) - d2.times(5.0) + d4;
    let last = d1.times(4.0) - d3.times(5.0) + d5;
    [first, a + b, a - b, c + e, c - e, last]
}

/// `Aᵀ·m` with `Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]`.
#[inline(always)]
pub(super) fn a_t<E: CpuElem>([m0, m1, m2, m3, m4, m5]: [Lanes<E>; WIN]) -> [Lanes<E>; TILE] {
    let (p, q, s, d) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4);
    [m0 + p + s, q + d.times(2.0), p + s.times(4.0), q + d.times(8.0) + m5]
}

/// `A·d`, the adjoint of [`a_t`].
#[inline(always)]
pub(super) fn a_spread<E: CpuElem>([d0, d1, d2, d3]: [Lanes<E>; TILE]) -> [Lanes<E>; WIN] {
    let (even, odd) = (d0 + d2, d1 + d3);
    let (even4, odd2) = (d0 + d2.times(4.0), d1.times(2.0) + d3.times(8.0));
    [d0, even + odd, even - odd, even4 + odd2, even4 - odd2, d3]
}

/// [`LANES`] values from `p`.
///
/// # Safety
/// `p .. p + LANES` must lie in one live, initialised buffer of `E`s.
#[inline(always)]
pub(super) unsafe fn load_at<E: Copy>(p: *const E) -> Lanes<E> {
    // SAFETY: the caller vouches for the range; unaligned reads need no alignment.
    Lanes(unsafe { p.cast::<[E; LANES]>().read_unaligned() })
}

/// Stores the [`LANES`] values of `value` at `p` as one (vector) store.
///
/// # Safety
/// `p .. p + LANES` must lie in one live buffer of `E`s that nothing else borrows.
#[inline(always)]
pub(super) unsafe fn store_at<E: Copy>(p: *mut E, value: Lanes<E>) {
    // SAFETY: the caller vouches for the range; unaligned writes need no alignment.
    unsafe { p.cast::<[E; LANES]>().write_unaligned(value.0) }
}
