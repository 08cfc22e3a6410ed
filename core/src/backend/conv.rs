//! The convolution family: im2col and its adjoint over a [`Window2d`] geometry.

use super::Device;

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
pub trait Conv: Device {
    /// Unfolds `x` (`[n, c, h, w]`) into `cols` (`[c·kh·kw, n·oh·ow]`: one column per output
    /// position of every sample, zeros for padding), so a convolution is one matrix product.
    fn im2col(x: &Self::Storage, cols: &mut Self::Storage, g: Window2d);
    /// The adjoint of [`Conv::im2col`]: sums `cols` back into `dx` (overwritten).
    fn col2im(cols: &Self::Storage, dx: &mut Self::Storage, g: Window2d);
}
