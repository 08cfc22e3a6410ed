//! The backend trait: the small set of primitive kernels every layer, loss and optimizer is
//! written against. The CPU backend lives in `shapeflow-cpu`, the CUDA one in `shapeflow-cuda`.
//!
//! Storage is a flat, contiguous, row-major buffer; kernels take the sizes they need. Layers check
//! sizes before calling a kernel, so kernels may assume consistent arguments.

use std::fmt::{Debug, Display};

/// A floating-point element type a backend computes in (`f32`, or `f64` for gradient checks).
///
/// ```
/// use shapeflow_core::Elem;
/// assert_eq!(<f32 as Elem>::from_f64(0.5), 0.5f32);
/// ```
pub trait Elem:
    num_traits::Float + Debug + Display + Default + Send + Sync + 'static + std::iter::Sum
{
    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn as_f64(self) -> f64;
    /// The type's name: `"f32"` or `"f64"`.
    const NAME: &'static str;
    /// The safetensors dtype: `"F32"` or `"F64"`.
    const SAFETENSORS_DTYPE: &'static str;
    /// Bytes per element.
    const BYTES: usize;
    /// Appends the little-endian bytes.
    fn write_le(self, out: &mut Vec<u8>);
    /// Reads from little-endian bytes (`bytes.len() == BYTES`).
    fn read_le(bytes: &[u8]) -> Self;
}

impl Elem for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    const NAME: &'static str = "f32";
    const SAFETENSORS_DTYPE: &'static str = "F32";
    const BYTES: usize = 4;
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(bytes: &[u8]) -> Self {
        let mut b = [0u8; 4];
        b.copy_from_slice(&bytes[..4]);
        f32::from_le_bytes(b)
    }
}

impl Elem for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
    const NAME: &'static str = "f64";
    const SAFETENSORS_DTYPE: &'static str = "F64";
    const BYTES: usize = 8;
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(bytes: &[u8]) -> Self {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[..8]);
        f64::from_le_bytes(b)
    }
}

/// Elementwise activation functions, shared by the activation layers and the kernels.
///
/// ```
/// use shapeflow_core::Activation;
/// assert!(Activation::Relu.backward_uses_output());
/// assert!(!Activation::Gelu.backward_uses_output());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x > 0`, else `slope * x`.
    LeakyRelu(f64),
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `x · Φ(x)`, the exact (erf) form, as PyTorch's default `GELU()`.
    Gelu,
}

impl Activation {
    /// Whether the backward kernel reads the forward output (`true`) or the input (`false`).
    pub fn backward_uses_output(self) -> bool {
        matches!(self, Activation::Relu | Activation::Sigmoid | Activation::Tanh)
    }
}

/// Hyper-parameters of one fused Adam/AdamW update (PyTorch's rules).
///
/// ```
/// let s = shapeflow_core::backend::AdamStep { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8,
///     weight_decay: 0.0, decoupled: false, step: 1 };
/// assert_eq!(s.step, 1);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
    /// Weight decay (L2 for Adam, decoupled for AdamW).
    pub weight_decay: f64,
    /// `true` for AdamW's decoupled weight decay.
    pub decoupled: bool,
    /// The step number, starting at 1.
    pub step: u64,
}

/// Hyper-parameters of one fused SGD update (PyTorch's rules).
///
/// ```
/// let s = shapeflow_core::backend::SgdStep { lr: 0.1, momentum: 0.9, dampening: 0.0,
///     nesterov: false, weight_decay: 0.0, first: true };
/// assert!(s.first);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SgdStep {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0 disables the buffer).
    pub momentum: f64,
    /// Dampening of the momentum.
    pub dampening: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// First step: the momentum buffer is initialised to the gradient.
    pub first: bool,
}

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

impl Default for Window2d {
    /// An empty geometry (no input, unit strides): the output of an impossible window.
    fn default() -> Self {
        Window2d {
            n: 0,
            c: 0,
            h: 0,
            w: 0,
            kh: 0,
            kw: 0,
            sh: 1,
            sw: 1,
            ph: 0,
            pw: 0,
            dh: 1,
            dw: 1,
            oh: 0,
            ow: 0,
        }
    }
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
        let out = |i: usize, k: usize, s: usize, p: usize, d: usize| -> Option<usize> {
            if s == 0 || d == 0 || k == 0 {
                return None;
            }
            let span = d * (k - 1) + 1;
            let padded = i + 2 * p;
            if span > padded {
                return None;
            }
            Some((padded - span) / s + 1)
        };
        let [n, c, h, w] = input;
        let oh = out(h, kernel[0], stride[0], pad[0], dilation[0])?;
        let ow = out(w, kernel[1], stride[1], pad[1], dilation[1])?;
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

/// A compute backend: a device handle plus the primitive kernels.
///
/// All buffers are flat and row-major. `rows × cols` arguments describe 2-D views of them.
///
/// ```
/// use shapeflow_core::Backend;
/// fn zeros<B: Backend>(dev: &B) -> Vec<B::Elem> { B::to_host(&dev.zeros(4)) }
/// ```
pub trait Backend: Clone + Debug + Send + Sync + 'static {
    /// Element type of every buffer of this backend.
    type Elem: Elem;
    /// A device buffer.
    type Storage: Clone + Debug + Send + Sync;

    /// Short name for messages and summaries, e.g. `"cpu-f32"`.
    fn name(&self) -> String;

    // ---- memory ----------------------------------------------------------------------------
    /// A zero-filled buffer of `len` elements on this device.
    fn zeros(&self, len: usize) -> Self::Storage;
    /// Copies host data to this device.
    fn upload(&self, data: &[Self::Elem]) -> Self::Storage;
    /// A zero-filled buffer on the same device as `like`.
    fn zeros_like(like: &Self::Storage, len: usize) -> Self::Storage;
    /// Runs `f` where this backend's parallel kernels run best, and returns its result. The CPU
    /// backend runs it on one of its worker threads, so each kernel takes the calling thread
    /// along instead of leaving it asleep until the workers finish, and keeps another worker
    /// spinning on `f`'s kernels meanwhile (measured together: about +25 % on an MLP training
    /// step, +30 % on a small CNN); other backends run `f` in place. `fit` runs each training
    /// step this way; wrap each step of a hand-written training loop the same way.
    ///
    /// ```
    /// use shapeflow_core::Backend;
    /// use shapeflow_cpu::Cpu;
    /// assert_eq!(Cpu::on_workers(|| (1..=10).sum::<i32>()), 55);
    /// ```
    fn on_workers<R: Send>(f: impl FnOnce() -> R + Send) -> R
    where
        Self: Sized,
    {
        f()
    }
    /// A buffer on the same device as `like` whose contents are unspecified (but initialised):
    /// for outputs the caller overwrites completely. Defaults to [`Backend::zeros_like`].
    fn scratch_like(like: &Self::Storage, len: usize) -> Self::Storage {
        Self::zeros_like(like, len)
    }
    /// Copies host data to the device that holds `like`.
    fn upload_like(like: &Self::Storage, data: &[Self::Elem]) -> Self::Storage;
    /// Copies a buffer back to the host.
    fn to_host(s: &Self::Storage) -> Vec<Self::Elem>;
    /// Number of elements in a buffer.
    fn len(s: &Self::Storage) -> usize;
    /// Sets every element to `v`.
    fn fill(s: &mut Self::Storage, v: Self::Elem);

    // ---- linear algebra --------------------------------------------------------------------
    /// `c = op(a) · op(b) + beta · c`, with `op(a)` of size `m × k` and `op(b)` of size `k × n`.
    /// `trans_a` means `a` is stored `k × m`; `trans_b` means `b` is stored `n × k` (no copies).
    #[allow(clippy::too_many_arguments)]
    fn matmul(
        a: &Self::Storage,
        b: &Self::Storage,
        c: &mut Self::Storage,
        m: usize,
        k: usize,
        n: usize,
        trans_a: bool,
        trans_b: bool,
        beta: Self::Elem,
    );
    /// Transposes `batch` matrices of `rows × cols` blocks of `inner` contiguous elements:
    /// `y[b, c, r, i] = x[b, r, c, i]` (moves axes in and out of convolution products).
    fn transpose_blocks(
        x: &Self::Storage,
        y: &mut Self::Storage,
        batch: usize,
        rows: usize,
        cols: usize,
        inner: usize,
    );
    /// `y[r, c] += bias[c]` for a `rows × cols` buffer.
    fn add_bias(y: &mut Self::Storage, bias: &Self::Storage, rows: usize, cols: usize);
    /// `out[c] = sum_r x[r, c]` (the bias gradient).
    fn sum_rows(x: &Self::Storage, out: &mut Self::Storage, rows: usize, cols: usize);
    /// `y[o, c, i] += bias[c]` for an `outer × channels × inner` buffer (conv bias).
    fn add_channel_bias(
        y: &mut Self::Storage,
        bias: &Self::Storage,
        outer: usize,
        channels: usize,
        inner: usize,
    );
    /// `out[c] = Σ_{o, i} x[o, c, i]` (conv bias gradient).
    fn sum_channels(
        x: &Self::Storage,
        out: &mut Self::Storage,
        outer: usize,
        channels: usize,
        inner: usize,
    );
    /// `y[r, i] = x[r, i] · m[r]` for `rows × inner` buffers (channel dropout masks).
    fn mul_rows_broadcast(
        x: &Self::Storage,
        m: &Self::Storage,
        y: &mut Self::Storage,
        rows: usize,
        inner: usize,
    );

    // ---- convolution and pooling -----------------------------------------------------------
    /// Unfolds `x` (`[n, c, h, w]`) into `cols` (`[c·kh·kw, n·oh·ow]`: one column per output
    /// position of every sample, zeros for padding), so a convolution is one matrix product.
    fn im2col(x: &Self::Storage, cols: &mut Self::Storage, g: Window2d);
    /// The adjoint of [`Backend::im2col`]: sums `cols` back into `dx` (overwritten).
    fn col2im(cols: &Self::Storage, dx: &mut Self::Storage, g: Window2d);
    /// Max pooling; `argmax` receives the input index (within the sample's channel plane) of each
    /// maximum, as an element value, for the backward pass. Padding never wins.
    fn max_pool2d(
        x: &Self::Storage,
        y: &mut Self::Storage,
        argmax: &mut Self::Storage,
        g: Window2d,
    );
    /// Max-pool backward: routes each `dy` to its argmax (overwrites `dx`).
    fn max_pool2d_backward(
        dy: &Self::Storage,
        argmax: &Self::Storage,
        dx: &mut Self::Storage,
        g: Window2d,
    );
    /// Average pooling, dividing by the full window (PyTorch's `count_include_pad=True`).
    fn avg_pool2d(x: &Self::Storage, y: &mut Self::Storage, g: Window2d);
    /// Average-pool backward (overwrites `dx`).
    fn avg_pool2d_backward(dy: &Self::Storage, dx: &mut Self::Storage, g: Window2d);

    // ---- batch normalisation -----------------------------------------------------------------
    /// Per-channel mean and biased variance of `x` (`[outer, channels, inner]`).
    fn channel_moments(
        x: &Self::Storage,
        mean: &mut Self::Storage,
        var: &mut Self::Storage,
        outer: usize,
        channels: usize,
        inner: usize,
    );
    /// `y = (x − mean[c]) · invstd[c] · gamma[c] + beta[c]`; `invstd = 1/√(var + eps)`.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_apply(
        x: &Self::Storage,
        mean: &Self::Storage,
        var: &Self::Storage,
        gamma: &Self::Storage,
        beta: &Self::Storage,
        y: &mut Self::Storage,
        eps: f64,
        outer: usize,
        channels: usize,
        inner: usize,
    );
    /// Batch-norm backward in training mode (batch statistics), writing `dx`, `dgamma`, `dbeta`.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_backward(
        x: &Self::Storage,
        dy: &Self::Storage,
        mean: &Self::Storage,
        var: &Self::Storage,
        gamma: &Self::Storage,
        dx: &mut Self::Storage,
        dgamma: &mut Self::Storage,
        dbeta: &mut Self::Storage,
        eps: f64,
        outer: usize,
        channels: usize,
        inner: usize,
    );

    // ---- elementwise -----------------------------------------------------------------------
    /// `y = f(x)` elementwise.
    fn activation(kind: Activation, x: &Self::Storage, y: &mut Self::Storage);
    /// `dx = f'(·) · dy`; `saved` is the forward output or input per
    /// [`Activation::backward_uses_output`].
    fn activation_backward(
        kind: Activation,
        saved: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
    );
    /// `out = a ⊙ b`.
    fn mul(a: &Self::Storage, b: &Self::Storage, out: &mut Self::Storage);
    /// `out = a - b`.
    fn sub(a: &Self::Storage, b: &Self::Storage, out: &mut Self::Storage);
    /// `y += alpha · x`.
    fn axpy(alpha: Self::Elem, x: &Self::Storage, y: &mut Self::Storage);
    /// `x *= alpha`.
    fn scale(x: &mut Self::Storage, alpha: Self::Elem);
    /// Clamps every element to `[lo, hi]`.
    fn clamp(x: &mut Self::Storage, lo: f64, hi: f64);
    /// Sum of all elements (accumulated in `f64`).
    fn sum(x: &Self::Storage) -> f64;
    /// Sum of squares of all elements (accumulated in `f64`).
    fn sum_squares(x: &Self::Storage) -> f64;
    /// Fills `mask` with `1/(1-p)` (kept) or `0` (dropped), from a counter-based RNG keyed by
    /// `seed`: the same seed gives the same mask on every backend.
    fn dropout_mask(mask: &mut Self::Storage, p: f64, seed: u64);

    // ---- rows: softmax family and classification losses ------------------------------------
    /// Numerically stable softmax of each row.
    fn softmax_rows(x: &Self::Storage, y: &mut Self::Storage, rows: usize, cols: usize);
    /// Numerically stable log-softmax of each row.
    fn log_softmax_rows(x: &Self::Storage, y: &mut Self::Storage, rows: usize, cols: usize);
    /// Softmax backward from its output `y`: `dx = y ⊙ (dy − Σ dy ⊙ y)` per row.
    fn softmax_backward_rows(
        y: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
    );
    /// Log-softmax backward from its output `y`: `dx = dy − e^y · Σ dy` per row.
    fn log_softmax_backward_rows(
        y: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
    );
    /// `Σ_r −logp[r, labels[r]]`. Labels are already checked to be `< cols`.
    fn nll_sum(logp: &Self::Storage, labels: &[usize], rows: usize, cols: usize) -> f64;
    /// `dx = scale · (e^logp − onehot(labels))` (cross-entropy gradient from log-probabilities).
    fn softmax_minus_onehot(
        logp: &Self::Storage,
        labels: &[usize],
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
        scale: Self::Elem,
    );
    /// `dx = −scale · onehot(labels)` (NLL gradient).
    fn neg_onehot(
        labels: &[usize],
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
        scale: Self::Elem,
    );
    /// Binary cross-entropy with logits: returns `Σ max(x,0) − x·t + ln(1+e^−|x|)` and writes
    /// `grad = scale · (σ(x) − t)`.
    fn bce_with_logits(
        x: &Self::Storage,
        t: &Self::Storage,
        grad: &mut Self::Storage,
        scale: Self::Elem,
    ) -> f64;

    // ---- optimizers --------------------------------------------------------------------------
    /// One fused Adam/AdamW update of `p` with gradient `g` and moments `m`, `v`.
    fn adam_step(
        p: &mut Self::Storage,
        g: &Self::Storage,
        m: &mut Self::Storage,
        v: &mut Self::Storage,
        hp: AdamStep,
    );
    /// One fused SGD update of `p` with gradient `g` and momentum buffer `buf` (`None` when
    /// momentum is 0).
    fn sgd_step(
        p: &mut Self::Storage,
        g: &Self::Storage,
        buf: Option<&mut Self::Storage>,
        hp: SgdStep,
    );
}
