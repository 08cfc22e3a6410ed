//! The convolution family: im2col and its adjoint over a [`Window2d`] geometry, and the
//! convolution's forward and backward products, by default composed from them and matrix
//! products over the whole batch (a backend overrides them to keep the unfolded input small).
use super::contract::{contract, count};

use super::{Blocks, Gemm, Linalg};

/// Geometry of a 2-D convolution or pooling window over an `[n, c, h, w]` input.
///
/// Output sizes follow PyTorch: `out = (in + 2·pad − dilation·(kernel − 1) − 1) / stride + 1`.
///
/// ```
/// let g = shapeflow_core::backend::Window2d::new([1, 3, 28, 28], [5, 5], [1, 1], [2, 2], [1, 1]).unwrap();
/// assert_eq!((g.oh, g.ow), (28, 28));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window2d {
    /// Batch size.
    pub n: usize,
    /// Channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Vertical stride.
    pub sh: usize,
    /// Horizontal stride.
    pub sw: usize,
    /// Vertical padding (each side).
    pub ph: usize,
    /// Horizontal padding (each side).
    pub pw: usize,
    /// Vertical dilation.
    pub dh: usize,
    /// Horizontal dilation.
    pub dw: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

impl Window2d {
    /// The geometry for input `[n, c, h, w]`; `None` when the window does not fit or a stride or
    /// dilation is 0.
    pub fn new(
        input: [usize; 4],
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
        dilation: [usize; 2],
    ) -> Option<Self> {
        let [n, c, h, w] = input;
        let oh = shapeflow_rules::window_out(h, kernel[0], stride[0], pad[0], dilation[0])?;
        let ow = shapeflow_rules::window_out(w, kernel[1], stride[1], pad[1], dilation[1])?;
        Some(Window2d {
            n,
            c,
            h,
            w,
            kh: kernel[0],
            kw: kernel[1],
            sh: stride[0],
            sw: stride[1],
            ph: pad[0],
            pw: pad[1],
            dh: dilation[0],
            dw: dilation[1],
            oh,
            ow,
        })
    }

    /// Rows of the im2col matrix of one sample: `c · kh · kw`.
    pub fn col_rows(&self) -> usize {
        self.c * self.kh * self.kw
    }

    /// Columns of the im2col matrix of one sample: `oh · ow`.
    pub fn col_cols(&self) -> usize {
        self.oh * self.ow
    }
}

/// Convolution as a matrix product: the unfold and its adjoint.
///
/// ```
/// use shapeflow_core::backend::{Conv, Device, Window2d};
/// use shapeflow_cpu::Cpu;
/// let g = Window2d::new([1, 1, 2, 2], [2, 2], [1, 1], [0, 0], [1, 1]).unwrap();
/// let x = Cpu::default().upload(&[1.0, 2.0, 3.0, 4.0]);
/// let mut cols = Cpu::default().zeros(4);
/// Cpu::im2col(&x, &mut cols, g);
/// assert_eq!(Cpu::to_host(&cols), vec![1.0, 2.0, 3.0, 4.0]);
/// ```
pub trait Conv: Linalg {
    /// Unfolds `x` (`[n, c, h, w]`) into `cols` (`[c·kh·kw, n·oh·ow]`: one column per output
    /// position of every sample, zeros for padding), so a convolution is one matrix product.
    #[track_caller]
    fn im2col(x: &Self::Storage, cols: &mut Self::Storage, g: Window2d) {
        let (x_len, cols_len) =
            (count(&[g.n, g.c, g.h, g.w]), count(&[g.col_rows(), g.n, g.col_cols()]));
        contract!("Conv::im2col", g; x => at_least(x_len), cols => at_least(cols_len));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::im2col_unchecked(x, cols, g) }
    }

    /// The kernel behind [`Conv::im2col`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Conv::im2col`] checks.
    unsafe fn im2col_unchecked(x: &Self::Storage, cols: &mut Self::Storage, g: Window2d);
    /// The adjoint of [`Conv::im2col`]: sums `cols` back into `dx` (overwritten).
    #[track_caller]
    fn col2im(cols: &Self::Storage, dx: &mut Self::Storage, g: Window2d) {
        let (x_len, cols_len) =
            (count(&[g.n, g.c, g.h, g.w]), count(&[g.col_rows(), g.n, g.col_cols()]));
        contract!("Conv::col2im", g; cols => at_least(cols_len), dx => at_least(x_len));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::col2im_unchecked(cols, dx, g) }
    }

    /// The kernel behind [`Conv::col2im`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Conv::col2im`] checks.
    unsafe fn col2im_unchecked(cols: &Self::Storage, dx: &mut Self::Storage, g: Window2d);

    /// `y[n, O, oh·ow] = W[O, c·kh·kw] ⋆ x[n, c, h, w]` (no bias), `y` overwritten. Defaults to
    /// [`conv2d_composed`].
    #[track_caller]
    fn conv2d(x: &Self::Storage, weight: &Self::Storage, y: &mut Self::Storage, g: ConvGeom)
    where
        Self: Sized,
    {
        let w = g.window;
        let (x_len, w_len, y_len) = (
            count(&[w.n, w.c, w.h, w.w]),
            count(&[g.out_channels, w.c, w.kh, w.kw]),
            count(&[w.n, g.out_channels, w.oh, w.ow]),
        );
        contract!("Conv::conv2d", g; x => at_least(x_len), weight => at_least(w_len), y => at_least(y_len));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::conv2d_unchecked(x, weight, y, g) }
    }

    /// The kernel behind [`Conv::conv2d`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Conv::conv2d`] checks.
    unsafe fn conv2d_unchecked(
        x: &Self::Storage,
        weight: &Self::Storage,
        y: &mut Self::Storage,
        g: ConvGeom,
    ) where
        Self: Sized,
    {
        conv2d_composed::<Self>(x, weight, y, g);
    }

    /// From `dy[n, O, oh·ow]`: the weight gradient `dweight[O, c·kh·kw]` and, when asked, the
    /// input gradient `dx[n, c, h, w]` (both overwritten). Defaults to
    /// [`conv2d_backward_composed`].
    #[track_caller]
    fn conv2d_backward(
        x: &Self::Storage,
        weight: &Self::Storage,
        dy: &Self::Storage,
        grads: ConvGrads<'_, Self::Storage>,
        g: ConvGeom,
    ) where
        Self: Sized,
    {
        let w = g.window;
        let (x_len, w_len, y_len) = (
            count(&[w.n, w.c, w.h, w.w]),
            count(&[g.out_channels, w.c, w.kh, w.kw]),
            count(&[w.n, g.out_channels, w.oh, w.ow]),
        );
        contract!("Conv::conv2d_backward", g; x => at_least(x_len), weight => at_least(w_len), dy => at_least(y_len), grads.dweight => at_least(w_len));
        if let Some(dx) = grads.dx.as_deref() {
            contract!("Conv::conv2d_backward", g; dx => at_least(x_len));
        }
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::conv2d_backward_unchecked(x, weight, dy, grads, g) }
    }

    /// The kernel behind [`Conv::conv2d_backward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Conv::conv2d_backward`] checks.
    unsafe fn conv2d_backward_unchecked(
        x: &Self::Storage,
        weight: &Self::Storage,
        dy: &Self::Storage,
        grads: ConvGrads<'_, Self::Storage>,
        g: ConvGeom,
    ) where
        Self: Sized,
    {
        conv2d_backward_composed::<Self>(x, weight, dy, grads, g);
    }
}

/// A convolution's window geometry and its number of output channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    /// The window over the input.
    pub window: Window2d,
    /// Output channels (`O`).
    pub out_channels: usize,
}

/// Where [`Conv::conv2d_backward`] writes: the weight gradient, and the input gradient when it
/// is wanted (a model's first layer skips it).
pub struct ConvGrads<'a, S> {
    /// `[O, c·kh·kw]`.
    pub dweight: &'a mut S,
    /// `[n, c, h, w]`, or `None`.
    pub dx: Option<&'a mut S>,
}

/// Weight gradients at least this large are computed in the transposed, copy-then-GEMM form.
const DW_TRANSPOSED_MIN: usize = 4096;

/// [`Conv::conv2d`] from [`Conv::im2col`] and one matrix product over the whole batch
/// (`W · cols[c·kh·kw, n·oh·ow]`), then the batch axis moved out.
///
/// ```
/// use shapeflow_core::backend::{Conv, ConvGeom, Device, Window2d, conv2d_composed};
/// use shapeflow_cpu::Cpu;
/// let window = Window2d::new([1, 1, 2, 2], [2, 2], [1, 1], [0, 0], [1, 1]).unwrap();
/// let (x, w) = (Cpu::default().upload(&[1.0, 2.0, 3.0, 4.0]), Cpu::default().upload(&[1.0; 4]));
/// let mut y = Cpu::default().zeros(1);
/// conv2d_composed::<Cpu>(&x, &w, &mut y, ConvGeom { window, out_channels: 1 });
/// assert_eq!(Cpu::to_host(&y), vec![10.0]);
/// ```
pub fn conv2d_composed<B: Conv>(
    x: &B::Storage,
    weight: &B::Storage,
    y: &mut B::Storage,
    geom: ConvGeom,
) {
    let (g, o) = (geom.window, geom.out_channels);
    let (rows, per) = (g.col_rows(), g.col_cols());
    let mut cols = B::scratch_like(x, rows * g.n * per);
    B::im2col(x, &mut cols, g);
    let mut y_t = B::scratch_like(x, o * g.n * per);
    B::matmul(weight, &cols, &mut y_t, Gemm::new(o, rows, g.n * per));
    B::transpose_blocks(&y_t, y, Blocks { batch: 1, rows: o, cols: g.n, inner: per });
}

/// [`Conv::conv2d_backward`] from [`Conv::im2col`], matrix products over the whole batch and
/// [`Conv::col2im`]: `dW = dy_t · colsᵀ`, `dcols = Wᵀ · dy_t`.
///
/// ```
/// use shapeflow_core::backend::{ConvGeom, ConvGrads, Device, Window2d, conv2d_backward_composed};
/// use shapeflow_cpu::Cpu;
/// let window = Window2d::new([1, 1, 2, 2], [2, 2], [1, 1], [0, 0], [1, 1]).unwrap();
/// let dev = Cpu::default();
/// let (x, w, dy) = (dev.upload(&[1.0, 2.0, 3.0, 4.0]), dev.upload(&[1.0, 0.0, 0.0, 2.0]), dev.upload(&[1.0]));
/// let (mut dw, mut dx) = (dev.zeros(4), dev.zeros(4));
/// let grads = ConvGrads { dweight: &mut dw, dx: Some(&mut dx) };
/// conv2d_backward_composed::<Cpu>(&x, &w, &dy, grads, ConvGeom { window, out_channels: 1 });
/// assert_eq!((Cpu::to_host(&dw), Cpu::to_host(&dx)), (vec![1.0, 2.0, 3.0, 4.0], vec![1.0, 0.0, 0.0, 2.0]));
/// ```
pub fn conv2d_backward_composed<B: Conv>(
    x: &B::Storage,
    weight: &B::Storage,
    dy: &B::Storage,
    grads: ConvGrads<'_, B::Storage>,
    geom: ConvGeom,
) {
    let (g, o) = (geom.window, geom.out_channels);
    let (rows, per) = (g.col_rows(), g.col_cols());
    let mut cols = B::scratch_like(x, rows * g.n * per);
    B::im2col(x, &mut cols, g);
    // dy as [O, n·OHW]: read by the direct weight gradient and by the input gradient.
    let transposed_dw = o * rows >= DW_TRANSPOSED_MIN;
    let dy_t = (!transposed_dw || grads.dx.is_some()).then(|| {
        let mut t = B::scratch_like(dy, o * g.n * per);
        B::transpose_blocks(dy, &mut t, Blocks { batch: 1, rows: g.n, cols: o, inner: per });
        t
    });
    if transposed_dw {
        // dWᵀ[CKK, O] = cols[CKK, n·OHW] · dy_p[n·OHW, O], with dy_p = dy as [n, OHW, O]: both
        // operands in the layout GEMM streams fastest, then one small transpose.
        let mut dy_p = B::scratch_like(dy, o * g.n * per);
        B::transpose_blocks(dy, &mut dy_p, Blocks { batch: g.n, rows: o, cols: per, inner: 1 });
        let mut dweight_t = B::scratch_like(dy, rows * o);
        B::matmul(&cols, &dy_p, &mut dweight_t, Gemm::new(rows, g.n * per, o));
        B::transpose_blocks(
            &dweight_t,
            grads.dweight,
            Blocks { batch: 1, rows, cols: o, inner: 1 },
        );
    } else if let Some(dy_t) = &dy_t {
        // dW[O, CKK] = dy_t[O, n·OHW] · colsᵀ[n·OHW, CKK]
        B::matmul(dy_t, &cols, grads.dweight, Gemm::new(o, g.n * per, rows).transpose_b());
    }
    if let (Some(dx), Some(dy_t)) = (grads.dx, &dy_t) {
        // dcols[CKK, n·OHW] = Wᵀ[CKK, O] · dy_t[O, n·OHW], folded back.
        let mut dcols = B::scratch_like(dy, rows * g.n * per);
        B::matmul(weight, dy_t, &mut dcols, Gemm::new(rows, o, g.n * per).transpose_a());
        B::col2im(&dcols, dx, g);
    }
}
