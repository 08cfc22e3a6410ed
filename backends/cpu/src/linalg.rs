//! `impl Linalg for CpuDevice`: products (`matmul.rs` and its special routes), block
//! transposes (`elementwise.rs`), bias broadcasts and sums (`bias.rs`).

use shapeflow_core::backend::{Blocks, Channels, Gemm, Linalg};

use crate::{CpuBuf, CpuDevice, CpuElem, bias, elementwise, matmul};

impl<E: CpuElem> Linalg for CpuDevice<E> {
    fn matmul(a: &CpuBuf<E>, b: &CpuBuf<E>, c: &mut CpuBuf<E>, g: Gemm) {
        matmul::matmul(a, b, c, g);
    }
    fn transpose_blocks(x: &CpuBuf<E>, y: &mut CpuBuf<E>, g: Blocks) {
        elementwise::transpose_blocks(x, y, g.batch, g.rows, g.cols, g.inner);
    }
    fn add_channel_bias(y: &mut CpuBuf<E>, bias: &CpuBuf<E>, g: Channels) {
        bias::add_channel_bias(y, bias, g.outer, g.channels, g.inner);
    }
    fn sum_channels(x: &CpuBuf<E>, out: &mut CpuBuf<E>, g: Channels) {
        bias::sum_channels(x, out, g.outer, g.channels, g.inner);
    }
    fn add_bias(y: &mut CpuBuf<E>, bias: &CpuBuf<E>, rows: usize, cols: usize) {
        bias::add_bias(y, bias, rows, cols);
    }
    fn sum_rows(x: &CpuBuf<E>, out: &mut CpuBuf<E>, rows: usize, cols: usize) {
        bias::sum_rows(x, out, rows, cols);
    }
}
