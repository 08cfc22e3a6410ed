//! `MultiheadAttention<E, H>`: PyTorch's `nn.MultiheadAttention(E, H, batch_first=True)` as
//! self-attention over a sequence batch `[batch, seq, E]`, the keys of each sample masked to its
//! own length (and, optionally, to the steps up to each query: causal).

use crate::backend::{
    AttentionGeom, Backend, Gemm, Joined, ScoreMask, StepBatch, split_heads, swap_heads,
};
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::layers::recurrent::dims;
use crate::layers::{Dropout, Linear};
use crate::module::Module;
use crate::rng::Rng;
use crate::seq::Lengths;
use crate::tensor::Tensor;

mod cross;
mod kv_cache;
pub use cross::CrossAttention;
pub use kv_cache::KvCache;

/// Multi-head self-attention with `H` heads over `E` features (`E / H` per head), batch first.
///
/// `q, k, v = x·W_inᵀ + b_in` (PyTorch's `in_proj_weight [3E, E]` and `in_proj_bias [3E]`, in
/// that order), per head `softmax(q·kᵀ/√(E/H))·v`, then `out_proj` (a `Linear<E, E>`). The keys a
/// query may see are its sample's valid steps (the input's lengths: PyTorch's
/// `key_padding_mask`) and, when `causal`, the steps up to itself; hidden keys get exactly zero
/// weight. Outputs at padded steps are zero and never reach a gradient. With
/// [`MultiheadAttention::with_dropout`] (`dropout = p` in `model!`) training drops attention
/// weights with probability `p` (inverted dropout, as PyTorch's `dropout`); inference never
/// does. Initialised as PyTorch's: `in_proj_weight` Xavier-uniform, biases zero.
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
    /// Rotate queries and keys by their positions (rotary embeddings, base 10000, the "rotate
    /// half" convention) before the scores.
    pub rope: bool,
    /// Dropout on the attention weights in training (PyTorch's `dropout`); `p = 0` by default.
    pub dropout: Dropout,
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

    /// The same layer with rotary position embeddings on queries and keys (`rope = true` in
    /// `model!`).
    pub fn rope(mut self) -> Self {
        self.rope = true;
        self
    }

    /// The same layer with dropout of probability `p` on the attention weights in training
    /// (`dropout = p` in `model!`; PyTorch's `dropout`), its masks drawn from `seed`.
    ///
    /// ```
    /// use shapeflow_core::{Init, Rng};
    /// use shapeflow_core::layers::MultiheadAttention;
    /// use shapeflow_cpu::Cpu;
    /// let attn = MultiheadAttention::<typenum::U8, typenum::U2, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
    /// assert_eq!(attn.with_dropout(0.1, 7).dropout.p, 0.1);
    /// ```
    pub fn with_dropout(mut self, p: f64, seed: u64) -> Self {
        self.dropout = Dropout::new(p, seed);
        self
    }

    /// Head-major `[batch·heads, steps, head]` rotated by each step's position (or back).
    fn rotate(x: &B::Storage, blocks: usize, steps: usize, inverse: bool) -> B::Storage {
        Self::rotate_from(x, blocks, steps, 0, inverse)
    }

    /// [`Self::rotate`] for steps at positions `start..start + steps`.
    fn rotate_from(
        x: &B::Storage,
        blocks: usize,
        steps: usize,
        start: usize,
        inverse: bool,
    ) -> B::Storage {
        let (d, half) = (Self::HEAD, Self::HEAD / 2);
        let (mut c, mut s) = (Vec::with_capacity(steps * half), Vec::with_capacity(steps * half));
        for t in start..start + steps {
            for j in 0..half {
                let angle = t as f64 * 10000f64.powf(-2.0 * j as f64 / d as f64);
                c.push(<B::Elem as crate::Elem>::from_f64(angle.cos()));
                s.push(<B::Elem as crate::Elem>::from_f64(angle.sin()));
            }
        }
        let (c, s) = (B::upload_like(x, &c), B::upload_like(x, &s));
        let mut y = B::scratch_like(x, blocks * steps * d);
        B::rotary(x, &mut y, &c, &s, crate::backend::Rotary { blocks, steps, head: d, inverse });
        y
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> Clone for MultiheadAttention<E, H, B> {
    fn clone(&self) -> Self {
        MultiheadAttention {
            in_proj_weight: self.in_proj_weight.clone(),
            in_proj_bias: self.in_proj_bias.clone(),
            out_proj: self.out_proj.clone(),
            causal: self.causal,
            rope: self.rope,
            dropout: self.dropout,
            _heads: std::marker::PhantomData,
        }
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> std::fmt::Debug for MultiheadAttention<E, H, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = if self.causal { ", causal" } else { "" };
        let d = if self.dropout.p > 0.0 {
            format!(", dropout {}", self.dropout.p)
        } else {
            String::new()
        };
        write!(f, "MultiheadAttention({}, {} heads{c}{d})", E::N, H::N)
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
            rope: false,
            dropout: Dropout::new(0.0, 0),
            _heads: std::marker::PhantomData,
        }
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> Module<B> for MultiheadAttention<E, H, B> {
    crate::visit_param_fields!(in_proj_weight, in_proj_bias, out_proj);
    fn visit_rng(&mut self, path: &mut String, f: &mut dyn FnMut(&str, &mut u64)) {
        crate::module::with_field(path, "dropout", |p| {
            Module::<B>::visit_rng(&mut self.dropout, p, f)
        });
    }
}

/// The queries, keys and values a forward pass keeps.
enum Heads<S> {
    /// Packed as the in-projection gives them, `[batch·steps, 3E]`: plain self-attention,
    /// through the backend's [`Attention`](crate::backend::Attention) family.
    Packed(S),
    /// Head-major `[batch, heads, steps, head]` (rotary embeddings, dropout, cross-attention).
    Split { q: S, k: S, v: S },
}

/// What the attention's backward needs.
pub struct AttentionCache<B: Backend> {
    /// The queries' source `[batch·queries, E]`, and the keys' and values' (cross-attention).
    x: B::Storage,
    memory: Option<B::Storage>,
    /// The queries, keys and values.
    heads: Heads<B::Storage>,
    /// Attention weights `[batch, heads, queries, keys]`, before dropout.
    attn: B::Storage,
    /// The dropout mask on them in training (`None` without dropout).
    mask: Option<B::Storage>,
    /// The heads' outputs side by side, `[batch·queries, E]` (out_proj's input).
    ctx: B::Storage,
    q_lengths: Vec<usize>,
    q_kept: Option<Lengths>,
    k_kept: Option<Lengths>,
    batch: usize,
    queries: usize,
    keys: usize,
}

impl<E: StaticDim, H: StaticDim, B: Backend> MultiheadAttention<E, H, B> {
    /// `[batch, steps, heads, head]` ↔ `[batch, heads, steps, head]`.
    fn heads(x: &B::Storage, batch: usize, rows: usize, cols: usize) -> B::Storage {
        swap_heads::<B>(x, batch, rows, cols, Self::HEAD)
    }

    /// The packed-heads geometry of `n` samples of `t` steps.
    fn geom(&self, n: usize, t: usize) -> AttentionGeom {
        AttentionGeom { batch: n, steps: t, heads: H::N, head: Self::HEAD, causal: self.causal }
    }

    /// The queries, keys and values of `x`'s `n × t` steps, head-major `[n·heads, t, head]`;
    /// with `rope`, queries and keys rotated for positions `start..start + t`.
    fn qkv(
        &self,
        x: &B::Storage,
        n: usize,
        t: usize,
        start: usize,
    ) -> (B::Storage, B::Storage, B::Storage) {
        let h = H::N;
        let [mut q, mut k, v] = split_heads::<B>(&self.project(x, n * t), self.geom(n, t));
        if self.rope {
            q = Self::rotate_from(&q, n * h, t, start, false);
            k = Self::rotate_from(&k, n * h, t, start, false);
        }
        (q, k, v)
    }

    /// `src · W_inᵀ + b_in`, `[rows, 3E]`.
    fn project(&self, src: &B::Storage, rows: usize) -> B::Storage {
        let e = E::N;
        let mut qkv = B::scratch_like(src, rows * 3 * e);
        B::matmul(
            src,
            self.in_proj_weight.storage(),
            &mut qkv,
            Gemm::new(rows, e, 3 * e).transpose_b(),
        );
        B::add_bias(&mut qkv, self.in_proj_bias.storage(), rows, 3 * e);
        qkv
    }

    /// The first `left` and the other `right` values of each row.
    fn split(x: &B::Storage, rows: usize, left: usize, right: usize) -> (B::Storage, B::Storage) {
        let (mut a, mut b) = (B::scratch_like(x, rows * left), B::scratch_like(x, rows * right));
        B::split_rows(x, &mut a, &mut b, Joined { rows, left, right });
        (a, b)
    }

    fn join(a: &B::Storage, b: &B::Storage, rows: usize, left: usize, right: usize) -> B::Storage {
        let mut y = B::scratch_like(a, rows * (left + right));
        B::concat_rows(a, b, &mut y, Joined { rows, left, right });
        y
    }

    /// Attention of head-major `q` (`queries` steps) over `k`, `v` (`keys` steps), then
    /// out_proj; padded queries' outputs zeroed; the weights multiplied by `mask` (dropout in
    /// training) before they weigh the values. Returns the output, the weights (before the
    /// mask) and `ctx`.
    #[allow(clippy::too_many_arguments)]
    fn attend(
        &self,
        (q, k, v): (&B::Storage, &B::Storage, &B::Storage),
        n: usize,
        (tq, tk): (usize, usize),
        q_lengths: &[usize],
        k_lengths: &[usize],
        causal: bool,
        mask: Option<&B::Storage>,
    ) -> (B::Storage, B::Storage, B::Storage) {
        let (e, h, d) = (E::N, H::N, Self::HEAD);
        let mut scores = B::scratch_like(q, n * h * tq * tk);
        B::matmul_batched(q, k, &mut scores, Gemm::new(tq, d, tk).transpose_b(), n * h);
        B::scale(&mut scores, <B::Elem as crate::Elem>::from_f64(1.0 / (d as f64).sqrt()));
        B::mask_scores(
            &mut scores,
            k_lengths,
            ScoreMask { batch: n, heads: h, queries: tq, keys: tk, causal },
        );
        let mut attn = B::scratch_like(q, n * h * tq * tk);
        B::softmax_rows(&scores, &mut attn, n * h * tq, tk);
        let dropped = mask.map(|m| Self::masked(&attn, m));
        let mut ctx_h = B::scratch_like(q, n * tq * e);
        B::matmul_batched(
            dropped.as_ref().unwrap_or(&attn),
            v,
            &mut ctx_h,
            Gemm::new(tq, tk, d),
            n * h,
        );
        let ctx = Self::heads(&ctx_h, n, h, tq);
        (self.output(&ctx, n, tq, q_lengths), attn, ctx)
    }

    /// out_proj of the heads' outputs `ctx` (`[n·tq, E]`), padded queries' outputs zeroed.
    fn output(&self, ctx: &B::Storage, n: usize, tq: usize, q_lengths: &[usize]) -> B::Storage {
        let (e, rows) = (E::N, n * tq);
        let mut y = B::scratch_like(ctx, rows * e);
        B::matmul(ctx, self.out_proj.weight.storage(), &mut y, Gemm::new(rows, e, e).transpose_b());
        if let Some(b) = &self.out_proj.bias {
            B::add_bias(&mut y, b.storage(), rows, e);
        }
        B::zero_padding(&mut y, q_lengths, StepBatch { batch: n, steps: tq, width: e });
        y
    }

    /// `attn · mask`, element by element.
    fn masked(attn: &B::Storage, mask: &B::Storage) -> B::Storage {
        let mut y = B::scratch_like(attn, B::len(attn));
        B::mul(attn, mask, &mut y);
        y
    }

    /// A fresh dropout mask for `len` attention weights, or `None` without dropout.
    fn draw_mask(&mut self, like: &B::Storage, len: usize) -> Option<B::Storage> {
        if self.dropout.p <= 0.0 {
            return None;
        }
        let mut mask = B::scratch_like(like, len);
        B::dropout_mask(&mut mask, self.dropout.p, self.dropout.next_mask_seed());
        Some(mask)
    }

    /// The backward of [`Self::output`]: the gradient of `ctx` (`[n·tq, E]`) and out_proj's.
    fn output_backward(
        &self,
        c: &AttentionCache<B>,
        dy: &B::Storage,
    ) -> (B::Storage, Linear<E, E, B>) {
        let (e, rows) = (E::N, c.batch * c.queries);
        // Padded queries' outputs are zero whatever the gradient says there.
        let mut g = dy.clone();
        let padding = StepBatch { batch: c.batch, steps: c.queries, width: e };
        B::zero_padding(&mut g, &c.q_lengths, padding);
        let mut out_proj = Linear {
            weight: self.out_proj.weight.scratch_like(),
            bias: self.out_proj.bias.as_ref().map(|b| b.scratch_like()),
        };
        B::matmul(&g, &c.ctx, out_proj.weight.storage_mut(), Gemm::new(e, rows, e).transpose_a());
        if let Some(b) = out_proj.bias.as_mut() {
            B::sum_rows(&g, b.storage_mut(), rows, e);
        }
        let mut dctx = B::scratch_like(&g, rows * e);
        B::matmul(&g, self.out_proj.weight.storage(), &mut dctx, Gemm::new(rows, e, e));
        (dctx, out_proj)
    }

    /// The head-major queries, keys and values of a cache that has them.
    fn head_major(c: &AttentionCache<B>) -> Result<(&B::Storage, &B::Storage, &B::Storage)> {
        match &c.heads {
            Heads::Split { q, k, v } => Ok((q, k, v)),
            Heads::Packed(_) => Err(Error::Shape(
                "attention backward: the cache holds packed self-attention heads".into(),
            )),
        }
    }

    /// The backward of [`Self::attend`] from the output gradient `dy`.
    #[allow(clippy::type_complexity)]
    fn attend_backward(
        &self,
        c: &AttentionCache<B>,
        dy: &B::Storage,
    ) -> Result<(B::Storage, B::Storage, B::Storage, Linear<E, E, B>)> {
        let (e, h, d, n, tq, tk) = (E::N, H::N, Self::HEAD, c.batch, c.queries, c.keys);
        let rows = n * tq;
        let (q, k, v) = Self::head_major(c)?;
        let (dctx, out_proj) = self.output_backward(c, dy);
        let dctx = Self::heads(&dctx, n, tq, h);
        let like = &dctx;
        let bh = n * h;
        let mut dattn = B::scratch_like(like, bh * tq * tk);
        B::matmul_batched(&dctx, v, &mut dattn, Gemm::new(tq, d, tk).transpose_b(), bh);
        // Through the dropout: the weights that weighed the values were attn · mask.
        let dropped = c.mask.as_ref().map(|m| (Self::masked(&c.attn, m), Self::masked(&dattn, m)));
        let (weights, dattn) = match &dropped {
            Some((w, da)) => (w, da),
            None => (&c.attn, &dattn),
        };
        let mut dv = B::scratch_like(like, n * tk * e);
        B::matmul_batched(weights, &dctx, &mut dv, Gemm::new(tk, tq, d).transpose_a(), bh);
        let mut ds = B::scratch_like(like, bh * tq * tk);
        B::softmax_backward_rows(&c.attn, dattn, &mut ds, bh * tq, tk);
        B::scale(&mut ds, <B::Elem as crate::Elem>::from_f64(1.0 / (d as f64).sqrt()));
        let (mut dq, mut dk) = (B::scratch_like(like, rows * e), B::scratch_like(like, n * tk * e));
        B::matmul_batched(&ds, k, &mut dq, Gemm::new(tq, tk, d), bh);
        B::matmul_batched(&ds, q, &mut dk, Gemm::new(tk, tq, d).transpose_a(), bh);
        if self.rope && c.memory.is_none() {
            // Gradients of the rotated queries and keys, rotated back.
            (dq, dk) = (Self::rotate(&dq, bh, tq, true), Self::rotate(&dk, bh, tk, true));
        }
        Ok((
            Self::heads(&dq, n, h, tq),
            Self::heads(&dk, n, h, tk),
            Self::heads(&dv, n, h, tk),
            out_proj,
        ))
    }

    /// The gradient of the self-attention's in-projection output `[rows, 3E]`, and out_proj's.
    fn dqkv(
        &self,
        c: &AttentionCache<B>,
        dy: &B::Storage,
    ) -> Result<(B::Storage, Linear<E, E, B>)> {
        let (e, rows) = (E::N, c.batch * c.queries);
        if let Heads::Packed(qkv) = &c.heads {
            let (dctx, out_proj) = self.output_backward(c, dy);
            let mut dqkv = B::scratch_like(qkv, rows * 3 * e);
            B::attention_backward(qkv, &c.attn, &dctx, &mut dqkv, self.geom(c.batch, c.queries));
            return Ok((dqkv, out_proj));
        }
        let (dq, dk, dv, out_proj) = self.attend_backward(c, dy)?;
        Ok((Self::join(&dq, &Self::join(&dk, &dv, rows, e, e), rows, e, 2 * e), out_proj))
    }

    /// The parameter gradients of a self-attention pass from `dqkv` and out_proj's.
    fn self_grads(
        &self,
        c: &AttentionCache<B>,
        dqkv: &B::Storage,
        out_proj: Linear<E, E, B>,
    ) -> Self {
        let (in_proj_weight, in_proj_bias) =
            self.in_proj_grads(&[(dqkv, &c.x, c.batch * c.queries)]);
        MultiheadAttention {
            in_proj_weight,
            in_proj_bias,
            out_proj,
            causal: self.causal,
            rope: self.rope,
            dropout: self.dropout,
            _heads: std::marker::PhantomData,
        }
    }

    /// The forward pass, the weights multiplied by `mask` (dropout in training) when given.
    fn run<N: Dim, T: Dim>(
        &self,
        x: &Tensor<(N, T, E), B>,
        mask: Option<B::Storage>,
    ) -> (Tensor<(N, T, E), B>, AttentionCache<B>) {
        let e = E::N;
        let (n, t) = (x.dims()[0], x.dims()[1]);
        let lengths = x.step_lengths();
        let (y, attn, ctx, heads) = if self.rope || mask.is_some() {
            let (q, k, v) = self.qkv(x.storage(), n, t, 0);
            let (y, attn, ctx) = self.attend(
                (&q, &k, &v),
                n,
                (t, t),
                &lengths,
                &lengths,
                self.causal,
                mask.as_ref(),
            );
            (y, attn, ctx, Heads::Split { q, k, v })
        } else {
            let qkv = self.project(x.storage(), n * t);
            let g = self.geom(n, t);
            let (mut attn, mut ctx) =
                (B::scratch_like(&qkv, g.weights()), B::scratch_like(&qkv, n * t * e));
            B::attention_forward(&qkv, &lengths, &mut attn, &mut ctx, g);
            (self.output(&ctx, n, t, &lengths), attn, ctx, Heads::Packed(qkv))
        };
        let mut out = Tensor::from_parts(y, dims(&[n, t, e]));
        out.lengths = x.lengths().cloned();
        let cache = AttentionCache {
            x: x.storage().clone(),
            memory: None,
            heads,
            attn,
            mask,
            ctx,
            q_lengths: lengths,
            q_kept: x.lengths().cloned(),
            k_kept: x.lengths().cloned(),
            batch: n,
            queries: t,
            keys: t,
        };
        (out, cache)
    }

    fn check_dy(c: &AttentionCache<B>, dy: &[usize]) -> Result<()> {
        if dy != [c.batch, c.queries, E::N] {
            return Err(Error::Shape(format!(
                "MultiheadAttention backward: the output gradient has sizes {dy:?} but the forward pass produced [{}, {}, {}]",
                c.batch,
                c.queries,
                E::N
            )));
        }
        Ok(())
    }

    /// The parameter gradients from the projections' gradients `dqkv` of each source.
    fn in_proj_grads(
        &self,
        parts: &[(&B::Storage, &B::Storage, usize)],
    ) -> (Tensor<(crate::dim::Dyn, E), B>, Tensor<(crate::dim::Dyn,), B>) {
        let e = E::N;
        let mut w = self.in_proj_weight.zeros_like();
        let mut b = self.in_proj_bias.zeros_like();
        for &(dqkv, src, rows) in parts {
            B::matmul(
                dqkv,
                src,
                w.storage_mut(),
                Gemm::new(3 * e, rows, e).transpose_a().accumulate(),
            );
            let mut db = B::scratch_like(dqkv, 3 * e);
            B::sum_rows(dqkv, &mut db, rows, 3 * e);
            B::axpy(<B::Elem as num_traits::One>::one(), &db, b.storage_mut());
        }
        (w, b)
    }

    /// `dqkv · W_in`: a source's input gradient.
    fn input_grad(&self, dqkv: &B::Storage, rows: usize) -> B::Storage {
        let e = E::N;
        let mut dx = B::scratch_like(dqkv, rows * e);
        B::matmul(dqkv, self.in_proj_weight.storage(), &mut dx, Gemm::new(rows, 3 * e, e));
        dx
    }
}

impl<N: Dim, T: Dim, E: StaticDim, H: StaticDim, B: Backend> Layer<(N, T, E), B>
    for MultiheadAttention<E, H, B>
{
    type Output = (N, T, E);
    type Cache = AttentionCache<B>;

    fn forward(&self, x: &Tensor<(N, T, E), B>) -> Tensor<(N, T, E), B> {
        self.run(x, None).0
    }

    fn forward_train(
        &mut self,
        x: &Tensor<(N, T, E), B>,
    ) -> (Tensor<(N, T, E), B>, AttentionCache<B>) {
        let (n, t) = (x.dims()[0], x.dims()[1]);
        let mask = self.draw_mask(x.storage(), n * H::N * t * t);
        self.run(x, mask)
    }

    fn backward(
        &self,
        c: &AttentionCache<B>,
        dy: &Tensor<(N, T, E), B>,
    ) -> Result<(Tensor<(N, T, E), B>, Self)> {
        Self::check_dy(c, dy.dims())?;
        let (e, rows) = (E::N, c.batch * c.queries);
        let (dqkv, out_proj) = self.dqkv(c, dy.storage())?;
        let mut dx =
            Tensor::from_parts(self.input_grad(&dqkv, rows), dims(&[c.batch, c.queries, e]));
        dx.lengths = c.q_kept.clone();
        Ok((dx, self.self_grads(c, &dqkv, out_proj)))
    }

    /// The parameter gradients without the input's (`dqkv · W_in`, a `[rows, 3E] × [3E, E]`
    /// product): the model's first layer.
    fn backward_params(&self, c: &AttentionCache<B>, dy: &Tensor<(N, T, E), B>) -> Result<Self> {
        Self::check_dy(c, dy.dims())?;
        let (dqkv, out_proj) = self.dqkv(c, dy.storage())?;
        Ok(self.self_grads(c, &dqkv, out_proj))
    }
}
