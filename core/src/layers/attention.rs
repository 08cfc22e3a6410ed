//! `MultiheadAttention<E, H>`: PyTorch's `nn.MultiheadAttention(E, H, batch_first=True)` as
//! self-attention over a sequence batch `[batch, seq, E]`, the keys of each sample masked to its
//! own length (and, optionally, to the steps up to each query: causal).

use crate::backend::{Backend, Blocks, Gemm, Joined, ScoreMask, StepBatch};
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::layers::Linear;
use crate::layers::recurrent::dims;
use crate::module::Module;
use crate::rng::Rng;
use crate::seq::Lengths;
use crate::tensor::Tensor;

/// Multi-head self-attention with `H` heads over `E` features (`E / H` per head), batch first.
///
/// `q, k, v = x·W_inᵀ + b_in` (PyTorch's `in_proj_weight [3E, E]` and `in_proj_bias [3E]`, in
/// that order), per head `softmax(q·kᵀ/√(E/H))·v`, then `out_proj` (a `Linear<E, E>`). The keys a
/// query may see are its sample's valid steps (the input's lengths: PyTorch's
/// `key_padding_mask`) and, when `causal`, the steps up to itself; hidden keys get exactly zero
/// weight. Outputs at padded steps are zero and never reach a gradient. No dropout on the
/// attention weights. Initialised as PyTorch's: `in_proj_weight` Xavier-uniform, biases zero.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor};
/// use shapeflow_core::layers::MultiheadAttention;
/// use shapeflow_cpu::Cpu;
/// use typenum::{U2, U8};
/// let dev = Cpu::default();
/// let attn = MultiheadAttention::<U8, U2, Cpu>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, Dyn, U8), Cpu>::from_sequences(&dev, &[vec![0.5; 24], vec![1.0; 8]]).unwrap();
/// let y = attn.forward(&x);
/// assert_eq!(y.dims(), &[2, 3, 8]);
/// assert_eq!(&y.to_vec()[32..], &[0.0; 16]); // the second sample's padded steps
/// ```
pub struct MultiheadAttention<E: StaticDim, H: StaticDim, B: Backend> {
    /// The query, key and value projections stacked, `[3E, E]`.
    pub in_proj_weight: Tensor<(crate::dim::Dyn, E), B>,
    /// Their biases, `[3E]`.
    pub in_proj_bias: Tensor<(crate::dim::Dyn,), B>,
    /// The output projection.
    pub out_proj: Linear<E, E, B>,
    /// Hide from each query the steps after it.
    pub causal: bool,
    _heads: std::marker::PhantomData<H>,
}

impl<E: StaticDim, H: StaticDim, B: Backend> MultiheadAttention<E, H, B> {
    /// Features per head; a compile-time error unless `H` divides `E`.
    const HEAD: usize = {
        assert!(
            H::N > 0 && E::N % H::N == 0,
            "MultiheadAttention: the width E must split into H heads"
        );
        E::N / H::N
    };

    /// The same layer with the causal mask on (`causal = true` in `model!`).
    pub fn causal(mut self) -> Self {
        self.causal = true;
        self
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> Clone for MultiheadAttention<E, H, B> {
    fn clone(&self) -> Self {
        MultiheadAttention {
            in_proj_weight: self.in_proj_weight.clone(),
            in_proj_bias: self.in_proj_bias.clone(),
            out_proj: self.out_proj.clone(),
            causal: self.causal,
            _heads: std::marker::PhantomData,
        }
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> std::fmt::Debug for MultiheadAttention<E, H, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = if self.causal { ", causal" } else { "" };
        write!(f, "MultiheadAttention({}, {} heads{c})", E::N, H::N)
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> Init<B> for MultiheadAttention<E, H, B> {
    fn init(dev: &B, rng: &mut Rng) -> Self {
        let _ = Self::HEAD;
        let e = E::N;
        let bound = (6.0 / (e + 3 * e) as f64).sqrt();
        let w: Vec<B::Elem> = (0..3 * e * e)
            .map(|_| <B::Elem as crate::Elem>::from_f64(rng.uniform_in(-bound, bound)))
            .collect();
        let mut out_proj = Linear::<E, E, B>::init(dev, rng);
        if let Some(b) = out_proj.bias.as_mut() {
            *b = b.zeros_like();
        }
        MultiheadAttention {
            in_proj_weight: Tensor::from_parts(dev.upload(&w), dims(&[3 * e, e])),
            in_proj_bias: Tensor::from_parts(dev.zeros(3 * e), dims(&[3 * e])),
            out_proj,
            causal: false,
            _heads: std::marker::PhantomData,
        }
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> Module<B> for MultiheadAttention<E, H, B> {
    crate::visit_param_fields!(in_proj_weight, in_proj_bias, out_proj);
}

/// What the attention's backward needs.
pub struct AttentionCache<B: Backend> {
    x: B::Storage,
    /// Queries, keys and values head-major, `[batch, heads, steps, head]`.
    q: B::Storage,
    k: B::Storage,
    v: B::Storage,
    /// Attention weights `[batch, heads, steps, steps]`.
    attn: B::Storage,
    /// The heads' outputs side by side, `[batch·steps, E]` (out_proj's input).
    ctx: B::Storage,
    lengths: Vec<usize>,
    kept: Option<Lengths>,
    batch: usize,
    steps: usize,
}

impl<E: StaticDim, H: StaticDim, B: Backend> MultiheadAttention<E, H, B> {
    /// `[batch, steps, heads, head]` ↔ `[batch, heads, steps, head]`.
    fn heads(x: &B::Storage, batch: usize, rows: usize, cols: usize) -> B::Storage {
        let mut y = B::scratch_like(x, batch * rows * cols * Self::HEAD);
        B::transpose_blocks(x, &mut y, Blocks { batch, rows, cols, inner: Self::HEAD });
        y
    }

    fn run<N: Dim, T: Dim>(
        &self,
        x: &Tensor<(N, T, E), B>,
    ) -> (Tensor<(N, T, E), B>, AttentionCache<B>) {
        let (e, h, d) = (E::N, H::N, Self::HEAD);
        let (n, t) = (x.dims()[0], x.dims()[1]);
        let (rows, lengths) = (n * t, x.step_lengths());
        let xs = x.storage();
        let mut qkv = B::scratch_like(xs, rows * 3 * e);
        B::matmul(
            xs,
            self.in_proj_weight.storage(),
            &mut qkv,
            Gemm::new(rows, e, 3 * e).transpose_b(),
        );
        B::add_bias(&mut qkv, self.in_proj_bias.storage(), rows, 3 * e);
        let (mut q, mut kv) = (B::scratch_like(xs, rows * e), B::scratch_like(xs, rows * 2 * e));
        B::split_rows(&qkv, &mut q, &mut kv, Joined { rows, left: e, right: 2 * e });
        let (mut k, mut v) = (B::scratch_like(xs, rows * e), B::scratch_like(xs, rows * e));
        B::split_rows(&kv, &mut k, &mut v, Joined { rows, left: e, right: e });
        let (q, k, v) =
            (Self::heads(&q, n, t, h), Self::heads(&k, n, t, h), Self::heads(&v, n, t, h));
        let mut attn = B::scratch_like(xs, n * h * t * t);
        B::matmul_batched(&q, &k, &mut attn, Gemm::new(t, d, t).transpose_b(), n * h);
        B::scale(&mut attn, <B::Elem as crate::Elem>::from_f64(1.0 / (d as f64).sqrt()));
        B::mask_scores(
            &mut attn,
            &lengths,
            ScoreMask { batch: n, heads: h, steps: t, causal: self.causal },
        );
        let scores = attn;
        let mut attn = B::scratch_like(xs, n * h * t * t);
        B::softmax_rows(&scores, &mut attn, n * h * t, t);
        let mut ctx_h = B::scratch_like(xs, rows * e);
        B::matmul_batched(&attn, &v, &mut ctx_h, Gemm::new(t, t, d), n * h);
        let ctx = Self::heads(&ctx_h, n, h, t);
        let mut y = B::scratch_like(xs, rows * e);
        B::matmul(
            &ctx,
            self.out_proj.weight.storage(),
            &mut y,
            Gemm::new(rows, e, e).transpose_b(),
        );
        if let Some(b) = &self.out_proj.bias {
            B::add_bias(&mut y, b.storage(), rows, e);
        }
        B::zero_padding(&mut y, &lengths, StepBatch { batch: n, steps: t, width: e });
        let mut out = Tensor::from_parts(y, dims(&[n, t, e]));
        out.lengths = x.lengths().cloned();
        let cache = AttentionCache {
            x: xs.clone(),
            q,
            k,
            v,
            attn,
            ctx,
            lengths,
            kept: x.lengths().cloned(),
            batch: n,
            steps: t,
        };
        (out, cache)
    }
}

impl<N: Dim, T: Dim, E: StaticDim, H: StaticDim, B: Backend> Layer<(N, T, E), B>
    for MultiheadAttention<E, H, B>
{
    type Output = (N, T, E);
    type Cache = AttentionCache<B>;

    fn forward(&self, x: &Tensor<(N, T, E), B>) -> Tensor<(N, T, E), B> {
        self.run(x).0
    }

    fn forward_train(
        &mut self,
        x: &Tensor<(N, T, E), B>,
    ) -> (Tensor<(N, T, E), B>, AttentionCache<B>) {
        self.run(x)
    }

    fn backward(
        &self,
        c: &AttentionCache<B>,
        dy: &Tensor<(N, T, E), B>,
    ) -> Result<(Tensor<(N, T, E), B>, Self)> {
        let (e, h, d, n, t) = (E::N, H::N, Self::HEAD, c.batch, c.steps);
        let rows = n * t;
        if dy.dims() != [n, t, e] {
            return Err(Error::Shape(format!(
                "MultiheadAttention backward: the output gradient has sizes {:?} but the forward pass produced [{n}, {t}, {e}]",
                dy.dims()
            )));
        }
        // Padded steps' outputs are zero whatever the gradient says there.
        let mut g = dy.storage().clone();
        B::zero_padding(&mut g, &c.lengths, StepBatch { batch: n, steps: t, width: e });
        let mut out_proj = self.out_proj.clone();
        B::matmul(&g, &c.ctx, out_proj.weight.storage_mut(), Gemm::new(e, rows, e).transpose_a());
        if let Some(b) = out_proj.bias.as_mut() {
            B::sum_rows(&g, b.storage_mut(), rows, e);
        }
        let mut dctx = B::scratch_like(&g, rows * e);
        B::matmul(&g, self.out_proj.weight.storage(), &mut dctx, Gemm::new(rows, e, e));
        let dctx = Self::heads(&dctx, n, t, h);
        let bh = n * h;
        let mut dattn = B::scratch_like(&g, bh * t * t);
        B::matmul_batched(&dctx, &c.v, &mut dattn, Gemm::new(t, d, t).transpose_b(), bh);
        let mut dv = B::scratch_like(&g, rows * e);
        B::matmul_batched(&c.attn, &dctx, &mut dv, Gemm::new(t, t, d).transpose_a(), bh);
        let mut ds = B::scratch_like(&g, bh * t * t);
        B::softmax_backward_rows(&c.attn, &dattn, &mut ds, bh * t, t);
        B::scale(&mut ds, <B::Elem as crate::Elem>::from_f64(1.0 / (d as f64).sqrt()));
        let (mut dq, mut dk) = (B::scratch_like(&g, rows * e), B::scratch_like(&g, rows * e));
        B::matmul_batched(&ds, &c.k, &mut dq, Gemm::new(t, t, d), bh);
        B::matmul_batched(&ds, &c.q, &mut dk, Gemm::new(t, t, d).transpose_a(), bh);
        let (dq, dk, dv) =
            (Self::heads(&dq, n, h, t), Self::heads(&dk, n, h, t), Self::heads(&dv, n, h, t));
        let mut dkv = B::scratch_like(&g, rows * 2 * e);
        B::concat_rows(&dk, &dv, &mut dkv, Joined { rows, left: e, right: e });
        let mut dqkv = B::scratch_like(&g, rows * 3 * e);
        B::concat_rows(&dq, &dkv, &mut dqkv, Joined { rows, left: e, right: 2 * e });
        let mut in_w = self.in_proj_weight.scratch_like();
        B::matmul(&dqkv, &c.x, in_w.storage_mut(), Gemm::new(3 * e, rows, e).transpose_a());
        let mut in_b = self.in_proj_bias.scratch_like();
        B::sum_rows(&dqkv, in_b.storage_mut(), rows, 3 * e);
        let mut dx = B::scratch_like(&g, rows * e);
        B::matmul(&dqkv, self.in_proj_weight.storage(), &mut dx, Gemm::new(rows, 3 * e, e));
        let mut dx = Tensor::from_parts(dx, dims(&[n, t, e]));
        dx.lengths = c.kept.clone();
        let grads = MultiheadAttention {
            in_proj_weight: in_w,
            in_proj_bias: in_b,
            out_proj,
            causal: self.causal,
            _heads: std::marker::PhantomData,
        };
        Ok((dx, grads))
    }
}
