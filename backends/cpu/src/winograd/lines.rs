//! A plane's rows split by column modulo 4 into the four column phases the transforms read
//! (see `Plane`), and joined back: for `f32` on AVX2 as in-register shuffles of whole runs,
//! elsewhere one value at a time.

#[cfg(test)]
use super::PHASES;
use super::{LANES, TILE, window};
use crate::CpuElem;
#[cfg(target_arch = "x86_64")]
use crate::f32_view::{as_f32, as_f32_mut};

/// Values per (de)interleaved run of a line: [`LANES`] per column phase.
pub(super) const RUN: usize = TILE * LANES;

/// Splits `line` (a padded row, zero past its values, a whole number of [`RUN`]s) by column
/// modulo 4 into the four column phases of row phase `row_phase`, from element `at` of each
/// phase of `phases` (each `len` long). Whole runs are written, so a line's last run spills
/// zeros (the padded row's right border) into the next lines, which are written later if
/// they hold values.
#[inline(always)]
pub(super) fn deinterleave<E: CpuElem>(
    line: &[E],
    phases: &mut [E],
    len: usize,
    row_phase: usize,
    at: usize,
) {
    for (c, run) in line.chunks_exact(RUN).enumerate() {
        let run: &[E; RUN] = window(run);
        let to = |j: usize| (TILE * row_phase + j) * len + at + c * LANES;
        #[cfg(target_arch = "x86_64")]
        if crate::f32_view::avx2_fma()
            && let (Some(run), Some(phases)) = (as_f32(run), as_f32_mut(phases))
        {
            let dst = run_destinations(phases, (len, row_phase, at), c);
            // SAFETY: AVX2 is available (checked above); `run_destinations` gives four
            // distinct runs of `phases`.
            unsafe { deinterleave_run_avx2(window(run), dst) };
            continue;
        }
        for j in 0..TILE {
            let dst: &mut [E; LANES] = lanes_mut(phases, to(j));
            for (l, d) in dst.iter_mut().enumerate() {
                *d = run[TILE * l + j];
            }
        }
    }
}

/// [`deinterleave`] of the line that holds `src[start .. start + w]` from column `shift` and
/// zeros elsewhere (`line.len()` columns). For `f32` on AVX2, where the line's span of `src`
/// lies inside `src`, the runs are loaded straight from `src` and the columns outside the row
/// (the neighbouring rows' values) zeroed by a mask; elsewhere the row is first copied into
/// `line`, whose other columns stay zero.
#[inline(always)]
pub(super) fn deinterleave_span<E: CpuElem>(
    src: &[E],
    (start, w, shift): (usize, usize, usize),
    line: &mut [E],
    phases: &mut [E],
    (len, row_phase, at): (usize, usize, usize),
) {
    #[cfg(target_arch = "x86_64")]
    if crate::f32_view::avx2_fma()
        && start >= shift
        && start - shift + line.len() <= src.len()
        && let (Some(src), Some(phases)) = (as_f32(src), as_f32_mut(phases))
    {
        let span = &src[start - shift..start - shift + line.len()];
        for (c, run) in span.chunks_exact(RUN).enumerate() {
            let dst = run_destinations(phases, (len, row_phase, at), c);
            // SAFETY: AVX2 is available (checked above); `run_destinations` gives four
            // distinct runs of `phases`.
            unsafe { deinterleave_kept_avx2(window(run), RUN * c, shift..shift + w, dst) };
        }
        return;
    }
    copy_row(&mut line[shift..shift + w], &src[start..start + w]);
    deinterleave(line, phases, len, row_phase, at);
}

/// The inverse of [`deinterleave`]: `line` (a whole number of [`RUN`]s) from the four column
/// phases of row phase `row_phase`, from element `at` of each.
#[inline(always)]
pub(super) fn interleave<E: CpuElem>(
    phases: &[E],
    len: usize,
    row_phase: usize,
    at: usize,
    line: &mut [E],
) {
    for (c, run) in line.chunks_exact_mut(RUN).enumerate() {
        let from = |j: usize| (TILE * row_phase + j) * len + at + c * LANES;
        #[cfg(target_arch = "x86_64")]
        if crate::f32_view::avx2_fma()
            && let (Some(phases), Some(run)) = (as_f32(phases), as_f32_mut(run))
        {
            let at = |j: usize| window(&phases[from(j)..]);
            let src = [at(0), at(1), at(2), at(3)];
            let run: &mut [f32; RUN] = lanes_mut(run, 0);
            // SAFETY: AVX2 is available (checked just above).
            unsafe { interleave_run_avx2(src, run) };
            continue;
        }
        for j in 0..TILE {
            let src: &[E; LANES] = window(&phases[from(j)..]);
            for (l, &v) in src.iter().enumerate() {
                run[TILE * l + j] = v;
            }
        }
    }
}

/// [`interleave`] of row phase `row_phase` from element `at` of each column phase into
/// `dst[start .. start + w]`. Where whole runs from `start` fit in `dst` they are written
/// straight into it: the columns past the row land in the following rows or planes, which the
/// caller writes after this one (rows and planes in order); elsewhere (a buffer's last rows)
/// through `line`, then copied.
#[inline(always)]
pub(super) fn interleave_span<E: CpuElem>(
    phases: &[E],
    (len, row_phase, at): (usize, usize, usize),
    line: &mut [E],
    dst: &mut [E],
    (start, w): (usize, usize),
) {
    if start + line.len() <= dst.len() {
        interleave(phases, len, row_phase, at, &mut dst[start..start + line.len()]);
        return;
    }
    interleave(phases, len, row_phase, at, line);
    copy_row(&mut dst[start..start + w], &line[..w]);
}

/// Where run `c` of row phase `row_phase` goes: element `at + 8c` of each of the four column
/// phases (each `len` long) of `phases`, as pointers for the AVX2 stores.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn run_destinations(
    phases: &mut [f32],
    (len, row_phase, at): (usize, usize, usize),
    c: usize,
) -> [*mut f32; TILE] {
    let to = |j: usize| (TILE * row_phase + j) * len + at + c * LANES;
    let to = [to(0), to(1), to(2), to(3)];
    // In bounds, and distinct: the phases are `len` ≥ `LANES` apart.
    assert!(
        len >= LANES && to.iter().all(|&t| t + LANES <= phases.len()),
        "winograd scratch is sized for whole runs"
    );
    let base = phases.as_mut_ptr();
    // SAFETY: each offset is inside `phases` (asserted just above); all four pointers come
    // from one borrow.
    unsafe { [base.add(to[0]), base.add(to[1]), base.add(to[2]), base.add(to[3])] }
}

/// Copies a plane's row (a few dozen values) in whole chunks of [`LANES`], which compile to
/// vector moves: the last chunk overlaps the one before it (copying some values twice)
/// instead of a short tail, which would compile to a call to `memcpy` per row (3 % of the ResNet training benchmark (W7)).
#[inline(always)]
pub(super) fn copy_row<E: Copy>(dst: &mut [E], src: &[E]) {
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    if n < LANES {
        dst.copy_from_slice(src);
        return;
    }
    for (d, s) in dst.chunks_exact_mut(LANES).zip(src.chunks_exact(LANES)) {
        d.copy_from_slice(s);
    }
    let (last, from): (&mut [E; LANES], &[E; LANES]) = (
        dst[n - LANES..].first_chunk_mut().expect("n ≥ LANES"),
        src[n - LANES..].first_chunk().expect("n ≥ LANES"),
    );
    *last = *from;
}

/// `N` elements of `s` from `at`: the scratch buffers are sized for whole runs.
#[inline(always)]
fn lanes_mut<E, const N: usize>(s: &mut [E], at: usize) -> &mut [E; N] {
    s[at..].first_chunk_mut().expect("winograd scratch is sized for whole runs")
}

/// `dst[j][l] = run[4l + j]`: eight groups of four as four lanes of eight.
///
/// # Safety
/// The CPU must support AVX2; each `dst` must be valid for writing eight values and not
/// overlap `run`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn deinterleave_run_avx2(run: &[f32; RUN], dst: [*mut f32; TILE]) {
    use std::arch::x86_64::*;
    let p = run.as_ptr();
    // SAFETY: `run` holds 32 values, four loads of eight; the caller vouches for `dst`.
    unsafe {
        let load = |q: usize| _mm256_loadu_ps(p.add(LANES * q));
        split_groups_avx2([load(0), load(1), load(2), load(3)], dst);
    }
}

/// [`deinterleave_run_avx2`] of `run`, columns `first ..` of a line, keeping only the columns
/// in `keep` (a row's) and zeroing the others (values of the neighbouring rows).
///
/// # Safety
/// As [`deinterleave_run_avx2`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn deinterleave_kept_avx2(
    run: &[f32; RUN],
    first: usize,
    keep: std::ops::Range<usize>,
    dst: [*mut f32; TILE],
) {
    use std::arch::x86_64::*;
    let p = run.as_ptr();
    // Lines are a plane's width: far below `i32::MAX`.
    let (first, lo, hi) = (first as i32, keep.start as i32 - 1, keep.end as i32);
    // SAFETY: `run` holds 32 values, four loads of eight; the caller vouches for `dst`.
    unsafe {
        let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let (lo, hi) = (_mm256_set1_epi32(lo), _mm256_set1_epi32(hi));
        let load = |q: usize| {
            let col = _mm256_add_epi32(_mm256_set1_epi32(first + (LANES * q) as i32), lane);
            let inside = _mm256_and_si256(_mm256_cmpgt_epi32(col, lo), _mm256_cmpgt_epi32(hi, col));
            _mm256_and_ps(_mm256_loadu_ps(p.add(LANES * q)), _mm256_castsi256_ps(inside))
        };
        split_groups_avx2([load(0), load(1), load(2), load(3)], dst);
    }
}

/// The shuffles of [`deinterleave_run_avx2`]: `a[k]` holds groups `2k` and `2k + 1`, one per
/// 128-bit half; column `j` of the eight groups goes to `dst[j]`.
///
/// # Safety
/// The CPU must support AVX2; each `dst` must be valid for writing eight values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn split_groups_avx2(a: [std::arch::x86_64::__m256; TILE], dst: [*mut f32; TILE]) {
    use std::arch::x86_64::*;
    let [a0, a1, a2, a3] = a;
    // Per half: columns 0 and 2 (`even`) or 1 and 3 (`odd`) of two groups each.
    let even_lo = _mm256_shuffle_ps::<0b10_00_10_00>(a0, a1);
    let odd_lo = _mm256_shuffle_ps::<0b11_01_11_01>(a0, a1);
    let even_hi = _mm256_shuffle_ps::<0b10_00_10_00>(a2, a3);
    let odd_hi = _mm256_shuffle_ps::<0b11_01_11_01>(a2, a3);
    // One column each, groups in the order 0 2 4 6 1 3 5 7.
    let cols = [
        _mm256_shuffle_ps::<0b10_00_10_00>(even_lo, even_hi),
        _mm256_shuffle_ps::<0b10_00_10_00>(odd_lo, odd_hi),
        _mm256_shuffle_ps::<0b11_01_11_01>(even_lo, even_hi),
        _mm256_shuffle_ps::<0b11_01_11_01>(odd_lo, odd_hi),
    ];
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (d, col) in dst.into_iter().zip(cols) {
        // SAFETY: the caller vouches for `d`.
        unsafe { _mm256_storeu_ps(d, _mm256_permutevar8x32_ps(col, order)) };
    }
}

/// `run[4l + j] = src[j][l]`, the inverse of [`deinterleave_run_avx2`].
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn interleave_run_avx2(src: [&[f32; LANES]; TILE], run: &mut [f32; RUN]) {
    use std::arch::x86_64::*;
    // SAFETY: each source holds eight values and `run` 32: whole-vector loads and stores.
    unsafe {
        // Groups in the order 0 2 4 6 1 3 5 7: each half holds the groups of one output pair.
        let order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
        let load = |j: usize| _mm256_permutevar8x32_ps(_mm256_loadu_ps(src[j].as_ptr()), order);
        let (q0, q1, q2, q3) = (load(0), load(1), load(2), load(3));
        let (even_lo, even_hi) = (_mm256_unpacklo_ps(q0, q2), _mm256_unpackhi_ps(q0, q2));
        let (odd_lo, odd_hi) = (_mm256_unpacklo_ps(q1, q3), _mm256_unpackhi_ps(q1, q3));
        let out = [
            _mm256_unpacklo_ps(even_lo, odd_lo),
            _mm256_unpackhi_ps(even_lo, odd_lo),
            _mm256_unpacklo_ps(even_hi, odd_hi),
            _mm256_unpackhi_ps(even_hi, odd_hi),
        ];
        let p = run.as_mut_ptr();
        for (o, v) in [0, 8, 16, 24].into_iter().zip(out) {
            _mm256_storeu_ps(p.add(o), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both directions against the definition, on the shuffled path where the machine has it
    /// and on the scalar one (f64) everywhere.
    fn round_trip<E: CpuElem>() {
        let (len, row_phase, at) = (3 * RUN, 2, 5);
        let line: Vec<E> = (0..2 * RUN).map(|i| E::from_f64(i as f64 + 1.0)).collect();
        let mut phases = vec![E::zero(); 16 * len];
        deinterleave(&line, &mut phases, len, row_phase, at);
        for (q, &v) in line.iter().enumerate() {
            let got = phases[(TILE * row_phase + q % TILE) * len + at + q / TILE];
            assert_eq!(got.as_f64(), v.as_f64(), "column {q}");
        }
        let mut back = vec![E::zero(); 2 * RUN];
        interleave(&phases, len, row_phase, at, &mut back);
        assert_eq!(
            back.iter().map(|v| v.as_f64()).collect::<Vec<_>>(),
            line.iter().map(|v| v.as_f64()).collect::<Vec<_>>()
        );
    }

    /// Reading a row inside a longer buffer gives what copying it into a zeroed line gives,
    /// for the input's shift of one column and the gradient's of none, rows shorter than a run,
    /// of a whole run and longer, at the buffer's start (the copying path), inside it and at
    /// its end.
    fn spans_read_in_place<E: CpuElem>() {
        for (w, shift) in [(7usize, 1usize), (28, 1), (13, 0), (32, 0), (31, 1), (40, 1)] {
            let line_len = (w + shift).next_multiple_of(RUN);
            let len = line_len / TILE + LANES;
            let src: Vec<E> = (0..4 * line_len).map(|i| E::from_f64(i as f64 - 2.5)).collect();
            for start in [0, 1, line_len + 3, src.len() - w] {
                let mut line = vec![E::zero(); line_len];
                line[shift..shift + w].copy_from_slice(&src[start..start + w]);
                // Both start from the same sentinel and write the same whole runs.
                let mut want = vec![E::from_f64(7.0); PHASES * len];
                deinterleave(&line, &mut want, len, 1, 2);
                let mut got = vec![E::from_f64(7.0); PHASES * len];
                let mut scratch = vec![E::zero(); line_len];
                deinterleave_span(&src, (start, w, shift), &mut scratch, &mut got, (len, 1, 2));
                let as_f64 = |v: &[E]| v.iter().map(|x| x.as_f64()).collect::<Vec<_>>();
                assert_eq!(as_f64(&got), as_f64(&want), "row of {w} at {start}, shift {shift}");
            }
        }
    }

    #[test]
    fn spans_read_in_place_in_f32() {
        spans_read_in_place::<f32>();
    }

    #[test]
    fn spans_read_in_place_in_f64() {
        spans_read_in_place::<f64>();
    }

    #[test]
    fn deinterleave_and_interleave_invert_each_other_in_f32() {
        round_trip::<f32>();
    }

    #[test]
    fn deinterleave_and_interleave_invert_each_other_in_f64() {
        round_trip::<f64>();
    }
}
