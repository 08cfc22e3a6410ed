//! The three tile transforms over whole planes: the input's `V = Bᵀ·d·B`, the output's
//! `Aᵀ·M·A` and the output gradient's `dM = A·dY·Aᵀ`, each one loop over a plane's tiles in
//! chunks of [`LANES`].

use super::lanes::{Lanes, a_spread, a_t, b_t, load_at, store_at};
use super::lines::{deinterleave_span, interleave_span};
use super::{LANES, PHASES, POS, Plane, Scratch, TILE, WIN, position_stride};
use crate::CpuElem;

/// Row `i` of the input windows of the chunk of tiles from `f0`: value `(i, j)` of each tile
/// (see [`Plane`]) for the six `j`, from the padded phases at `padded` (each `len` long).
///
/// # Safety
/// `padded` must hold [`PHASES`] phases of `len` values with `f0 + stride + 1 + LANES ≤ len`.
#[inline(always)]
unsafe fn window_row<E: CpuElem>(
    padded: *const E,
    len: usize,
    stride: usize,
    f0: usize,
    i: usize,
) -> [Lanes<E>; WIN] {
    // SAFETY: phase `4·(i % 4) + j % 4` ≤ 15, element `f0 + (i / 4)·stride + j / 4` of it, and
    // the caller's bound keeps each read of LANES inside its phase.
    unsafe {
        let row = padded.add(TILE * (i % TILE) * len + f0 + i / TILE * stride);
        let (p1, p2, p3) = (row.add(len), row.add(2 * len), row.add(3 * len));
        [
            load_at(row),
            load_at(p1),
            load_at(p2),
            load_at(p3),
            load_at(row.add(1)),
            load_at(p1.add(1)),
        ]
    }
}

/// Row `i` of `M` for the chunk of tiles from `f0`: positions `6i .. 6i + 6`, each `block`
/// apart from `m`.
///
/// # Safety
/// `m` must be valid for reads of `(6i + 5)·block + f0 + LANES` values.
#[inline(always)]
unsafe fn m_row<E: CpuElem>(m: *const E, block: usize, f0: usize, i: usize) -> [Lanes<E>; WIN] {
    // SAFETY: as the caller vouches.
    unsafe {
        let row = m.add(WIN * i * block + f0);
        let load = |j: usize| load_at(row.add(j * block));
        [load(0), load(1), load(2), load(3), load(4), load(5)]
    }
}

/// Row `a` of the output gradient of the chunk of tiles from `f0`: its four column phases.
///
/// # Safety
/// `grads` must hold [`PHASES`] phases of `len` values with `f0 + LANES ≤ len`.
#[inline(always)]
unsafe fn grad_row<E: CpuElem>(
    grads: *const E,
    len: usize,
    f0: usize,
    a: usize,
) -> [Lanes<E>; TILE] {
    // SAFETY: phases `4a .. 4a + 4`, element `f0` of each, within the caller's bound.
    unsafe {
        let row = grads.add(TILE * a * len + f0);
        let load = |b: usize| load_at(row.add(b * len));
        [load(0), load(1), load(2), load(3)]
    }
}

wide! {
    /// `V[ξ][ch][tile] = (Bᵀ·d·B)[ξ]` for every tile of the `span / tiles` samples in `x`.
    pub(super) fn input_tiles(x: &[E], plane: Plane, k: usize, span: usize, s: &mut Scratch<E>) {
        let (n, stride, w, len) = (plane.tiles(), plane.stride(), plane.w, plane.padded_phase());
        let (padded, vs, line) = (&mut s.padded[..], &mut s.v[..], &mut s.line_in[..]);
        if n == 0 {
            return;
        }
        for nc in plane.in_tile_order(x.len(), k) {
            for r in 0..plane.h {
                // Input column q is padded column q + 1; the line's other columns stay zero.
                let padded_row = r + 1;
                let (phase, at) = (padded_row % TILE, padded_row / TILE * stride);
                let row = (nc * plane.size() + r * w, w, 1);
                deinterleave_span(x, row, line, padded, (len, phase, at));
            }
            let (block, at) = (position_stride(k, span), plane.first_tile(nc, k, span));
            // Bounds, checked once per plane: every chunk's reads lie in the padded phases,
            // every chunk's whole stores in each position's block.
            assert!(
                PHASES * len <= padded.len()
                    && n + stride + LANES <= len
                    && at + n - 1 + LANES <= block
                    && (POS - 1) * block + block <= vs.len(),
                "winograd scratch is sized for the plane"
            );
            let (from, to) = (padded.as_ptr(), vs.as_mut_ptr());
            for f0 in (0..n).step_by(LANES) {
                // SAFETY: `f0 < n`, so the bound asserted above holds for every read.
                let row = |i: usize| unsafe { b_t(window_row(from, len, stride, f0, i)) };
                // B across each row's six columns, then Bᵀ down the six results.
                let e = [row(0), row(1), row(2), row(3), row(4), row(5)];
                #[expect(clippy::needless_range_loop, reason = "`j` picks a column of six rows")]
                for j in 0..WIN {
                    let col = b_t([e[0][j], e[1][j], e[2][j], e[3][j], e[4][j], e[5][j]]);
                    for (i, value) in col.into_iter().enumerate() {
                        // SAFETY: tiles `f0 .. f0 + LANES` of position `6i + j`, inside its
                        // block by the bound asserted above (`f0 ≤ n − 1`).
                        unsafe { store_at(to.add((WIN * i + j) * block + at + f0), value) };
                    }
                }
            }
        }
    }
}

wide! {
    /// `y[ch] = (Aᵀ·M·A)` of every tile of channel `ch`; the outputs of spare tiles and of the
    /// tiles' parts outside the plane are dropped.
    pub(super) fn output_tiles(y: &mut [E], plane: Plane, k: usize, span: usize, s: &mut Scratch<E>) {
        let (n, stride, w, len) = (plane.tiles(), plane.stride(), plane.w, plane.out_phase());
        let (m, line) = (&s.m[..], &mut s.line_out[..]);
        let outs = &mut s.outs[..PHASES * len];
        if n == 0 {
            return;
        }
        for nc in 0..y.len() / plane.size() {
            let (block, at) = (position_stride(k, span), plane.first_tile(nc, k, span));
            // Bounds, checked once per plane: every chunk's reads of `M` (the buffer has a
            // chunk of spare values) and stores into the output phases.
            assert!(
                (POS - 1) * block + at + n - 1 + LANES <= m.len() && PHASES * len <= outs.len(),
                "winograd scratch is sized for the plane"
            );
            let (from, to) = (m[at..].as_ptr(), outs.as_mut_ptr());
            for f0 in (0..n).step_by(LANES) {
                // SAFETY: `f0 < n`, so the bound asserted above holds for every read.
                let row = |i: usize| unsafe { a_t(m_row(from, block, f0, i)) };
                // A across each row of M, then Aᵀ down the four columns.
                let r = [row(0), row(1), row(2), row(3), row(4), row(5)];
                #[expect(clippy::needless_range_loop, reason = "`b` picks a column of six rows")]
                for b in 0..TILE {
                    let col = a_t([r[0][b], r[1][b], r[2][b], r[3][b], r[4][b], r[5][b]]);
                    for (a, value) in col.into_iter().enumerate() {
                        // SAFETY: whole chunks, each phase having a chunk of spare values
                        // (`f0 + LANES ≤ n + LANES − 1 < len`), inside `outs` as asserted.
                        unsafe { store_at(to.add((TILE * a + b) * len + f0), value) };
                    }
                }
            }
            for r in 0..plane.h {
                let from = (len, r % TILE, r / TILE * stride);
                interleave_span(outs, from, line, y, (nc * plane.size() + r * w, w));
            }
        }
    }
}

wide! {
    /// `dM[ξ][ch][tile] = (A·dY·Aᵀ)[ξ]` of every tile's 4×4 output gradient `dY` (zero for
    /// spare tiles and the outputs outside the plane).
    pub(super) fn gradient_tiles(dy: &[E], plane: Plane, k: usize, span: usize, s: &mut Scratch<E>) {
        let (n, stride, w, len) = (plane.tiles(), plane.stride(), plane.w, plane.out_phase());
        let (grads, ms, line) = (&mut s.grads[..], &mut s.m[..], &mut s.line_grad[..]);
        if n == 0 {
            return;
        }
        for nc in plane.in_tile_order(dy.len(), k) {
            for r in 0..plane.h {
                // The line's columns past the row stay zero.
                let row = (nc * plane.size() + r * w, w, 0);
                deinterleave_span(dy, row, line, grads, (len, r % TILE, r / TILE * stride));
            }
            let (block, at) = (position_stride(k, span), plane.first_tile(nc, k, span));
            // Bounds, checked once per plane, as in `input_tiles`.
            assert!(
                PHASES * len <= grads.len()
                    && n + LANES <= len
                    && at + n - 1 + LANES <= block
                    && (POS - 1) * block + block <= ms.len(),
                "winograd scratch is sized for the plane"
            );
            let (from, to) = (grads.as_ptr(), ms.as_mut_ptr());
            for f0 in (0..n).step_by(LANES) {
                // SAFETY: `f0 < n`, so the bound asserted above holds for every read.
                let row = |a: usize| unsafe { a_spread(grad_row(from, len, f0, a)) };
                // dY·Aᵀ along the tile's four rows, then A down the six columns.
                let u = [row(0), row(1), row(2), row(3)];
                #[expect(clippy::needless_range_loop, reason = "`j` picks a column of four rows")]
                for j in 0..WIN {
                    let col = a_spread([u[0][j], u[1][j], u[2][j], u[3][j]]);
                    for (i, value) in col.into_iter().enumerate() {
                        // SAFETY: as in `input_tiles`.
                        unsafe { store_at(to.add((WIN * i + j) * block + at + f0), value) };
                    }
                }
            }
        }
    }
}
