//! `impl Linalg for CpuDevice`: products (`matmul.rs` and its special routes), block
//! transposes (`elementwise.rs`), bias broadcasts and sums (`bias.rs`), row concatenation and
//! its split (here).

use shapeflow_core::backend::{Blocks, Channels, Gemm, Joined, Linalg};

use crate::{CpuBuf, CpuDevice, CpuElem, bias, elementwise, matmul};

impl<E: CpuElem> Linalg for CpuDevice<E> {
    unsafe fn matmul_unchecked(a: &CpuBuf<E>, b: &CpuBuf<E>, c: &mut CpuBuf<E>, g: Gemm) {
        matmul::matmul(a, b, c, g);
    }
    unsafe fn matmul_batched_unchecked(
        a: &CpuBuf<E>,
        b: &CpuBuf<E>,
        c: &mut CpuBuf<E>,
        g: Gemm,
        count: usize,
    ) {
        matmul::matmul_batched(a, b, c, g, count);
    }
    unsafe fn transpose_blocks_unchecked(x: &CpuBuf<E>, y: &mut CpuBuf<E>, g: Blocks) {
        elementwise::transpose_blocks(x, y, g.batch, g.rows, g.cols, g.inner);
    }
    unsafe fn add_channel_bias_unchecked(y: &mut CpuBuf<E>, bias: &CpuBuf<E>, g: Channels) {
        bias::add_channel_bias(y, bias, g.outer, g.channels, g.inner);
    }
    unsafe fn sum_channels_unchecked(x: &CpuBuf<E>, out: &mut CpuBuf<E>, g: Channels) {
        bias::sum_channels(x, out, g.outer, g.channels, g.inner);
    }
    unsafe fn concat_rows_unchecked(a: &CpuBuf<E>, b: &CpuBuf<E>, y: &mut CpuBuf<E>, g: Joined) {
        let Joined { rows, left, right } = g;
        if a.len() < rows * left || b.len() < rows * right || y.len() < rows * g.width() {
            return;
        }
        for r in 0..rows {
            let row = &mut y[r * g.width()..(r + 1) * g.width()];
            row[..left].copy_from_slice(&a[r * left..(r + 1) * left]);
            row[left..].copy_from_slice(&b[r * right..(r + 1) * right]);
        }
    }
    unsafe fn split_rows_unchecked(y: &CpuBuf<E>, a: &mut CpuBuf<E>, b: &mut CpuBuf<E>, g: Joined) {
        let Joined { rows, left, right } = g;
        if a.len() < rows * left || b.len() < rows * right || y.len() < rows * g.width() {
            return;
        }
        for r in 0..rows {
            let row = &y[r * g.width()..(r + 1) * g.width()];
            a[r * left..(r + 1) * left].copy_from_slice(&row[..left]);
            b[r * right..(r + 1) * right].copy_from_slice(&row[left..]);
        }
    }
    unsafe fn add_bias_unchecked(y: &mut CpuBuf<E>, bias: &CpuBuf<E>, rows: usize, cols: usize) {
        bias::add_bias(y, bias, rows, cols);
    }
    unsafe fn sum_rows_unchecked(x: &CpuBuf<E>, out: &mut CpuBuf<E>, rows: usize, cols: usize) {
        bias::sum_rows(x, out, rows, cols);
    }
}
