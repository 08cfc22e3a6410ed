//! The attention family: scaled dot-product self-attention of several heads, read from and
//! written to the packed layouts of PyTorch's `nn.MultiheadAttention` (the in-projection's
//! `[q | k | v]` rows and the heads' outputs side by side), so no head-major copies are needed.
use super::contract::{check_lengths, contract, count};

use super::{Blocks, Elementwise, Gemm, Joined, Linalg, Rows, ScoreMask, Sequence};

/// Self-attention of `batch` samples of `steps` steps with `heads` heads of `head` features.
/// `qkv` is `[batch·steps, 3·heads·head]` (each row the queries, then the keys, then the values;
/// head `h` at columns `h·head..` of each), `ctx` is `[batch·steps, heads·head]` and the
/// weights `attn` are `[batch, heads, steps, steps]`.
///
/// ```
/// let g = shapeflow_core::backend::AttentionGeom { batch: 2, steps: 5, heads: 4, head: 8, causal: false };
/// assert_eq!((g.width(), g.weights()), (32, 2 * 4 * 5 * 5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionGeom {
    /// Samples.
    pub batch: usize,
    /// Steps of each sample (queries and keys).
    pub steps: usize,
    /// Heads.
    pub heads: usize,
    /// Features per head.
    pub head: usize,
    /// Hide from each query the keys after it.
    pub causal: bool,
}

impl AttentionGeom {
    /// Features of all heads (`E`).
    pub const fn width(&self) -> usize {
        self.heads * self.head
    }
    /// Attention weights in all (`batch·heads·steps²`).
    pub const fn weights(&self) -> usize {
        self.batch * self.heads * self.steps * self.steps
    }
    /// The scores' scale, `1/√head`.
    pub fn scale(&self) -> f64 {
        1.0 / (self.head as f64).sqrt()
    }
    fn mask(&self) -> ScoreMask {
        let (batch, heads, steps, causal) = (self.batch, self.heads, self.steps, self.causal);
        ScoreMask { batch, heads, queries: steps, keys: steps, causal }
    }
}

/// Scaled dot-product self-attention over packed heads. The defaults are composed from the other
/// families ([`attention_forward_composed`], [`attention_backward_composed`]); the CPU backend
/// runs each sample's head as one task on strided views instead.
///
/// ```
/// use shapeflow_core::backend::{Attention, AttentionGeom, Device};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let g = AttentionGeom { batch: 1, steps: 2, heads: 1, head: 1, causal: true };
/// // q | k | v per step: the first step sees only itself, the second both.
/// let qkv = dev.upload(&[1.0, 1.0, 3.0, 1.0, 1.0, 5.0]);
/// let (mut attn, mut ctx) = (dev.zeros(4), dev.zeros(2));
/// Cpu::attention_forward(&qkv, &[2], &mut attn, &mut ctx, g);
/// assert_eq!(Cpu::to_host(&attn), vec![1.0, 0.0, 0.5, 0.5]);
/// assert_eq!(Cpu::to_host(&ctx), vec![3.0, 4.0]);
/// ```
pub trait Attention: Linalg + Elementwise + Rows + Sequence {
    /// `attn[b, h] = softmax(q_h·k_hᵀ/√head)` over each query's visible keys (its sample's
    /// first `lengths[b]` steps and, when causal, those up to itself; hidden keys weigh exactly
    /// zero) and `ctx[b·steps + i, h·head..(h+1)·head] = attn[b, h, i]·v_h`.
    #[track_caller]
    fn attention_forward(
        qkv: &Self::Storage,
        lengths: &[usize],
        attn: &mut Self::Storage,
        ctx: &mut Self::Storage,
        g: AttentionGeom,
    ) {
        let (packed, width) = (
            count(&[g.batch, g.steps, 3, g.heads, g.head]),
            count(&[g.batch, g.steps, g.heads, g.head]),
        );
        let weights = count(&[g.batch, g.heads, g.steps, g.steps]);
        check_lengths("Attention::attention_forward", lengths, g.batch, g.steps, true);
        contract!("Attention::attention_forward", g; qkv => at_least(packed), attn => at_least(weights), ctx => at_least(width));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::attention_forward_unchecked(qkv, lengths, attn, ctx, g) }
    }

    /// The kernel behind [`Attention::attention_forward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Attention::attention_forward`] checks.
    unsafe fn attention_forward_unchecked(
        qkv: &Self::Storage,
        lengths: &[usize],
        attn: &mut Self::Storage,
        ctx: &mut Self::Storage,
        g: AttentionGeom,
    ) {
        attention_forward_composed::<Self>(qkv, lengths, attn, ctx, g);
    }

    /// The backward of [`Attention::attention_forward`]: `dqkv` (overwritten, the layout of
    /// `qkv`) from the gradient `dctx` of `ctx`.
    #[track_caller]
    fn attention_backward(
        qkv: &Self::Storage,
        attn: &Self::Storage,
        dctx: &Self::Storage,
        dqkv: &mut Self::Storage,
        g: AttentionGeom,
    ) {
        let (packed, width) = (
            count(&[g.batch, g.steps, 3, g.heads, g.head]),
            count(&[g.batch, g.steps, g.heads, g.head]),
        );
        let weights = count(&[g.batch, g.heads, g.steps, g.steps]);
        contract!("Attention::attention_backward", g; qkv => at_least(packed), attn => at_least(weights), dctx => at_least(width), dqkv => at_least(packed));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::attention_backward_unchecked(qkv, attn, dctx, dqkv, g) }
    }

    /// The kernel behind [`Attention::attention_backward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Attention::attention_backward`] checks.
    unsafe fn attention_backward_unchecked(
        qkv: &Self::Storage,
        attn: &Self::Storage,
        dctx: &Self::Storage,
        dqkv: &mut Self::Storage,
        g: AttentionGeom,
    ) {
        attention_backward_composed::<Self>(qkv, attn, dctx, dqkv, g);
    }
}

/// `[batch, steps, heads, head]` ↔ `[batch, heads, steps, head]` (`rows` and `cols` the two
/// middle sizes of `x`).
pub fn swap_heads<B: Linalg>(
    x: &B::Storage,
    batch: usize,
    rows: usize,
    cols: usize,
    head: usize,
) -> B::Storage {
    let mut y = B::scratch_like(x, batch * rows * cols * head);
    B::transpose_blocks(x, &mut y, Blocks { batch, rows, cols, inner: head });
    y
}

/// The queries, keys and values of packed `qkv`, each head-major `[batch, heads, steps, head]`.
pub fn split_heads<B: Linalg>(qkv: &B::Storage, g: AttentionGeom) -> [B::Storage; 3] {
    let (e, rows) = (g.width(), g.batch * g.steps);
    let split = |x: &B::Storage, left, right| {
        let (mut a, mut b) = (B::scratch_like(x, rows * left), B::scratch_like(x, rows * right));
        B::split_rows(x, &mut a, &mut b, Joined { rows, left, right });
        (a, b)
    };
    let (q, kv) = split(qkv, e, 2 * e);
    let (k, v) = split(&kv, e, e);
    [q, k, v].map(|x| swap_heads::<B>(&x, g.batch, g.steps, g.heads, g.head))
}

/// [`Attention::attention_forward`] from the other families: the heads split out head-major,
/// batched products, scale, mask and row softmax, the outputs moved back side by side.
pub fn attention_forward_composed<B: Attention>(
    qkv: &B::Storage,
    lengths: &[usize],
    attn: &mut B::Storage,
    ctx: &mut B::Storage,
    g: AttentionGeom,
) {
    let (t, d, bh) = (g.steps, g.head, g.batch * g.heads);
    let [q, k, v] = split_heads::<B>(qkv, g);
    let mut scores = B::scratch_like(qkv, g.weights());
    B::matmul_batched(&q, &k, &mut scores, Gemm::new(t, d, t).transpose_b(), bh);
    B::scale(&mut scores, <B::Elem as crate::Elem>::from_f64(g.scale()));
    B::mask_scores(&mut scores, lengths, g.mask());
    B::softmax_rows(&scores, attn, bh * t, t);
    let mut ctx_h = B::scratch_like(qkv, bh * t * d);
    B::matmul_batched(attn, &v, &mut ctx_h, Gemm::new(t, t, d), bh);
    B::transpose_blocks(&ctx_h, ctx, Blocks { batch: g.batch, rows: g.heads, cols: t, inner: d });
}

/// [`Attention::attention_backward`] from the other families.
pub fn attention_backward_composed<B: Attention>(
    qkv: &B::Storage,
    attn: &B::Storage,
    dctx: &B::Storage,
    dqkv: &mut B::Storage,
    g: AttentionGeom,
) {
    let (e, t, d, bh, rows) = (g.width(), g.steps, g.head, g.batch * g.heads, g.batch * g.steps);
    let [q, k, v] = split_heads::<B>(qkv, g);
    let dctx = swap_heads::<B>(dctx, g.batch, t, g.heads, d);
    let mut dattn = B::scratch_like(qkv, g.weights());
    B::matmul_batched(&dctx, &v, &mut dattn, Gemm::new(t, d, t).transpose_b(), bh);
    let mut dv = B::scratch_like(qkv, rows * e);
    B::matmul_batched(attn, &dctx, &mut dv, Gemm::new(t, t, d).transpose_a(), bh);
    let mut ds = B::scratch_like(qkv, g.weights());
    B::softmax_backward_rows(attn, &dattn, &mut ds, bh * t, t);
    B::scale(&mut ds, <B::Elem as crate::Elem>::from_f64(g.scale()));
    let (mut dq, mut dk) = (B::scratch_like(qkv, rows * e), B::scratch_like(qkv, rows * e));
    B::matmul_batched(&ds, &k, &mut dq, Gemm::new(t, t, d), bh);
    B::matmul_batched(&ds, &q, &mut dk, Gemm::new(t, t, d).transpose_a(), bh);
    let [dq, dk, dv] = [dq, dk, dv].map(|x| swap_heads::<B>(&x, g.batch, g.heads, t, d));
    let join = |a: &B::Storage, b: &B::Storage, y: &mut B::Storage, left, right| {
        B::concat_rows(a, b, y, Joined { rows, left, right });
    };
    let mut dkv = B::scratch_like(qkv, rows * 2 * e);
    join(&dk, &dv, &mut dkv, e, e);
    join(&dq, &dkv, dqkv, e, 2 * e);
}
