//! The linear-algebra family: matrix products, block transposes and bias broadcasts.

use super::Device;
use super::contract::{self, contract, count};

/// A row-major matrix product `c = op(a) · op(b) + beta · c`, with `op(a)` of size `m × k` and
/// `op(b)` of size `k × n`. `trans_a` means `a` is stored `k × m`; `trans_b` means `b` is stored
/// `n × k` (no copies).
///
/// ```
/// use shapeflow_core::backend::Gemm;
/// let g = Gemm::new(2, 3, 4).transpose_b();
/// assert_eq!((g.m, g.k, g.n, g.trans_a, g.trans_b, g.beta), (2, 3, 4, false, true, 0.0));
/// assert_eq!(g.accumulate().beta, 1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gemm {
    /// Rows of `op(a)` and `c`.
    pub m: usize,
    /// The reduction length.
    pub k: usize,
    /// Columns of `op(b)` and `c`.
    pub n: usize,
    /// `a` is stored `k × m`.
    pub trans_a: bool,
    /// `b` is stored `n × k`.
    pub trans_b: bool,
    /// The weight of `c`'s previous contents (0: overwrite).
    pub beta: f64,
}

impl Gemm {
    /// `c = a · b` for `a: m × k`, `b: k × n`, overwriting `c`.
    pub const fn new(m: usize, k: usize, n: usize) -> Self {
        Gemm { m, k, n, trans_a: false, trans_b: false, beta: 0.0 }
    }
    /// `a` is stored transposed (`k × m`).
    pub const fn transpose_a(mut self) -> Self {
        self.trans_a = true;
        self
    }
    /// `b` is stored transposed (`n × k`).
    pub const fn transpose_b(mut self) -> Self {
        self.trans_b = true;
        self
    }
    /// Adds the product to `c` (`beta = 1`).
    pub const fn accumulate(mut self) -> Self {
        self.beta = 1.0;
        self
    }
}

/// `batch` matrices of `rows × cols` blocks of `inner` contiguous elements, for
/// [`Linalg::transpose_blocks`].
///
/// ```
/// let b = shapeflow_core::backend::Blocks { batch: 1, rows: 2, cols: 3, inner: 4 };
/// assert_eq!(b.len(), 24);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocks {
    /// Number of matrices.
    pub batch: usize,
    /// Block rows of each matrix.
    pub rows: usize,
    /// Block columns of each matrix.
    pub cols: usize,
    /// Contiguous elements per block.
    pub inner: usize,
}

impl Blocks {
    /// Elements in all.
    pub const fn len(&self) -> usize {
        self.batch * self.rows * self.cols * self.inner
    }
    /// Whether there are no elements.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An `outer × channels × inner` buffer with one value per channel: a convolution's bias, a
/// batch norm's statistics (`[n, c, h·w]`), a row of features (`inner = 1`).
///
/// ```
/// let g = shapeflow_core::backend::Channels::rows(4, 10);
/// assert_eq!((g.outer, g.channels, g.inner), (4, 10, 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channels {
    /// Leading size (the batch).
    pub outer: usize,
    /// Number of channels (one value each).
    pub channels: usize,
    /// Trailing contiguous size (positions per channel).
    pub inner: usize,
}

impl Channels {
    /// `rows × cols`, one value per column.
    pub const fn rows(rows: usize, cols: usize) -> Self {
        Channels { outer: rows, channels: cols, inner: 1 }
    }
    /// Elements in all.
    pub const fn len(&self) -> usize {
        self.outer * self.channels * self.inner
    }
    /// Whether there are no elements.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Two row-major matrices side by side: `rows` rows of `left` and of `right` values, joined into
/// rows of `left + right` (a concatenation along the first per-sample axis), for
/// [`Linalg::concat_rows`] and [`Linalg::split_rows`].
///
/// ```
/// let j = shapeflow_core::backend::Joined { rows: 2, left: 3, right: 1 };
/// assert_eq!(j.width(), 4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Joined {
    /// Rows (samples).
    pub rows: usize,
    /// Values per row of the left part.
    pub left: usize,
    /// Values per row of the right part.
    pub right: usize,
}

impl Joined {
    /// Values per joined row.
    pub const fn width(&self) -> usize {
        self.left + self.right
    }
}

/// Matrix products, block transposes and per-channel broadcasts and sums.
///
/// ```
/// use shapeflow_core::backend::{Device, Gemm, Linalg};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let (a, b) = (dev.upload(&[1.0, 2.0]), dev.upload(&[3.0, 4.0]));
/// let mut c = dev.zeros(1);
/// Cpu::matmul(&a, &b, &mut c, Gemm::new(1, 2, 1));
/// assert_eq!(Cpu::to_host(&c), vec![11.0]);
/// ```
pub trait Linalg: Device {
    /// `c = op(a) · op(b) + beta · c` as described by `g`.
    #[track_caller]
    fn matmul(a: &Self::Storage, b: &Self::Storage, c: &mut Self::Storage, g: Gemm) {
        contract!("Linalg::matmul", g; a => at_least(count(&[g.m, g.k])), b => at_least(count(&[g.k, g.n])), c => at_least(count(&[g.m, g.n])));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::matmul_unchecked(a, b, c, g) }
    }

    /// The kernel behind [`Linalg::matmul`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Linalg::matmul`] checks.
    unsafe fn matmul_unchecked(
        a: &Self::Storage,
        b: &Self::Storage,
        c: &mut Self::Storage,
        g: Gemm,
    );
    /// `count` independent products `c_i = op(a_i) · op(b_i) + beta · c_i`, each operand a
    /// contiguous block of its buffer (`a_i` the `i`-th block of `m·k` values, `b_i` of `k·n`,
    /// `c_i` of `m·n`): attention's per-head products.
    #[track_caller]
    fn matmul_batched(
        a: &Self::Storage,
        b: &Self::Storage,
        c: &mut Self::Storage,
        g: Gemm,
        count: usize,
    ) {
        contract!("Linalg::matmul_batched", (g, count); a => at_least(contract::count(&[count, g.m, g.k])), b => at_least(contract::count(&[count, g.k, g.n])), c => at_least(contract::count(&[count, g.m, g.n])));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::matmul_batched_unchecked(a, b, c, g, count) }
    }

    /// The kernel behind [`Linalg::matmul_batched`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Linalg::matmul_batched`] checks.
    unsafe fn matmul_batched_unchecked(
        a: &Self::Storage,
        b: &Self::Storage,
        c: &mut Self::Storage,
        g: Gemm,
        count: usize,
    );
    /// `y[b, c, r, i] = x[b, r, c, i]` (moves axes in and out of convolution products).
    #[track_caller]
    fn transpose_blocks(x: &Self::Storage, y: &mut Self::Storage, g: Blocks) {
        let n = count(&[g.batch, g.rows, g.cols, g.inner]);
        contract!("Linalg::transpose_blocks", g; x => at_least(n), y => at_least(n));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::transpose_blocks_unchecked(x, y, g) }
    }

    /// The kernel behind [`Linalg::transpose_blocks`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Linalg::transpose_blocks`] checks.
    unsafe fn transpose_blocks_unchecked(x: &Self::Storage, y: &mut Self::Storage, g: Blocks);
    /// `y[o, c, i] += bias[c]` (a convolution's bias).
    #[track_caller]
    fn add_channel_bias(y: &mut Self::Storage, bias: &Self::Storage, g: Channels) {
        contract!("Linalg::add_channel_bias", g; y => at_least(count(&[g.outer, g.channels, g.inner])), bias => at_least(Some(g.channels)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::add_channel_bias_unchecked(y, bias, g) }
    }

    /// The kernel behind [`Linalg::add_channel_bias`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Linalg::add_channel_bias`] checks.
    unsafe fn add_channel_bias_unchecked(y: &mut Self::Storage, bias: &Self::Storage, g: Channels);
    /// `out[c] = Σ_{o, i} x[o, c, i]` (a convolution's bias gradient).
    #[track_caller]
    fn sum_channels(x: &Self::Storage, out: &mut Self::Storage, g: Channels) {
        contract!("Linalg::sum_channels", g; x => at_least(count(&[g.outer, g.channels, g.inner])), out => at_least(Some(g.channels)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::sum_channels_unchecked(x, out, g) }
    }

    /// The kernel behind [`Linalg::sum_channels`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Linalg::sum_channels`] checks.
    unsafe fn sum_channels_unchecked(x: &Self::Storage, out: &mut Self::Storage, g: Channels);
    /// `y[r] = [a[r], b[r]]`: each row of `a` followed by the same row of `b` (concatenation).
    #[track_caller]
    fn concat_rows(a: &Self::Storage, b: &Self::Storage, y: &mut Self::Storage, g: Joined) {
        contract!("Linalg::concat_rows", g; a => at_least(count(&[g.rows, g.left])), b => at_least(count(&[g.rows, g.right])), y => at_least(g.left.checked_add(g.right).and_then(|w| w.checked_mul(g.rows))));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::concat_rows_unchecked(a, b, y, g) }
    }

    /// The kernel behind [`Linalg::concat_rows`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Linalg::concat_rows`] checks.
    unsafe fn concat_rows_unchecked(
        a: &Self::Storage,
        b: &Self::Storage,
        y: &mut Self::Storage,
        g: Joined,
    );
    /// The adjoint of [`Linalg::concat_rows`]: each row of `y` split into `a` and `b`.
    #[track_caller]
    fn split_rows(y: &Self::Storage, a: &mut Self::Storage, b: &mut Self::Storage, g: Joined) {
        contract!("Linalg::split_rows", g; a => at_least(count(&[g.rows, g.left])), b => at_least(count(&[g.rows, g.right])), y => at_least(g.left.checked_add(g.right).and_then(|w| w.checked_mul(g.rows))));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::split_rows_unchecked(y, a, b, g) }
    }

    /// The kernel behind [`Linalg::split_rows`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Linalg::split_rows`] checks.
    unsafe fn split_rows_unchecked(
        y: &Self::Storage,
        a: &mut Self::Storage,
        b: &mut Self::Storage,
        g: Joined,
    );
    /// `y[r, c] += bias[c]` for a `rows × cols` buffer. Defaults to
    /// [`Linalg::add_channel_bias`] with `inner = 1`.
    #[track_caller]
    fn add_bias(y: &mut Self::Storage, bias: &Self::Storage, rows: usize, cols: usize) {
        contract!("Linalg::add_bias", (rows, cols); y => at_least(count(&[rows, cols])), bias => at_least(Some(cols)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::add_bias_unchecked(y, bias, rows, cols) }
    }

    /// The kernel behind [`Linalg::add_bias`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Linalg::add_bias`] checks.
    unsafe fn add_bias_unchecked(
        y: &mut Self::Storage,
        bias: &Self::Storage,
        rows: usize,
        cols: usize,
    ) {
        Self::add_channel_bias(y, bias, Channels::rows(rows, cols));
    }
    /// `out[c] = Σ_r x[r, c]` (the bias gradient). Defaults to [`Linalg::sum_channels`] with
    /// `inner = 1`.
    #[track_caller]
    fn sum_rows(x: &Self::Storage, out: &mut Self::Storage, rows: usize, cols: usize) {
        contract!("Linalg::sum_rows", (rows, cols); x => at_least(count(&[rows, cols])), out => at_least(Some(cols)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::sum_rows_unchecked(x, out, rows, cols) }
    }

    /// The kernel behind [`Linalg::sum_rows`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Linalg::sum_rows`] checks.
    unsafe fn sum_rows_unchecked(
        x: &Self::Storage,
        out: &mut Self::Storage,
        rows: usize,
        cols: usize,
    ) {
        Self::sum_channels(x, out, Channels::rows(rows, cols));
    }
}
