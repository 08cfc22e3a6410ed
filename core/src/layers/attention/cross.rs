//! `CrossAttention<E, H>`: a decoder's attention over an encoder's memory (PyTorch's
//! `multihead_attn`), on the parameters and passes of [`MultiheadAttention`].

use super::{AttentionCache, MultiheadAttention};
use crate::backend::Backend;
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::Init;
use crate::layers::recurrent::dims;
use crate::module::Module;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Cross-attention: a [`MultiheadAttention`] whose queries come from the first value
/// (`[batch, seq, E]`, a decoder's) and keys and values from the second (`[batch, seq', E]`, the
/// encoder's memory, its own lengths masking the keys): PyTorch's decoder `multihead_attn(x,
/// memory, memory, key_padding_mask=…)`, with the same parameters and names. In `model!`:
/// `cross: CrossAttention<E, H>(x, memory)`.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, Tensor};
/// use shapeflow_core::layers::{CrossAttention, Merge};
/// use shapeflow_cpu::Cpu;
/// use typenum::{U2, U4};
/// let dev = Cpu::default();
/// let attn = CrossAttention::<U4, U2, Cpu>::init(&dev, &mut Rng::new(0));
/// let tgt = Tensor::<(Dyn, Dyn, U4), Cpu>::from_sequences(&dev, &[vec![0.5; 8]]).unwrap();
/// let memory = Tensor::<(Dyn, Dyn, U4), Cpu>::from_sequences(&dev, &[vec![1.0; 12]]).unwrap();
/// let y: Tensor<(Dyn, Dyn, U4), Cpu> = attn.forward(&tgt, &memory);
/// assert_eq!(y.dims(), &[1, 2, 4]);
/// ```
pub struct CrossAttention<E: StaticDim, H: StaticDim, B: Backend>(pub MultiheadAttention<E, H, B>);

impl<E: StaticDim, H: StaticDim, B: Backend> Clone for CrossAttention<E, H, B> {
    fn clone(&self) -> Self {
        CrossAttention(self.0.clone())
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> std::fmt::Debug for CrossAttention<E, H, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CrossAttention({}, {} heads)", E::N, H::N)
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> Init<B> for CrossAttention<E, H, B> {
    fn init(dev: &B, rng: &mut Rng) -> Self {
        CrossAttention(MultiheadAttention::init(dev, rng))
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> Module<B> for CrossAttention<E, H, B> {
    fn visit_params(&self, path: &mut String, f: &mut crate::module::VisitFn<'_, B>) {
        self.0.visit_params(path, f);
    }
    fn visit_params_mut(&mut self, path: &mut String, f: &mut crate::module::VisitMutFn<'_, B>) {
        self.0.visit_params_mut(path, f);
    }
    fn visit_params_with_grads(
        &mut self,
        grads: &Self,
        path: &mut String,
        f: &mut crate::module::VisitGradsFn<'_, B>,
    ) {
        self.0.visit_params_with_grads(&grads.0, path, f);
    }
}

impl<N: Dim, T: Dim, S: Dim, E: StaticDim, H: StaticDim, B: Backend>
    crate::layers::Merge<(N, T, E), (N, S, E), (N, T, E), B> for CrossAttention<E, H, B>
{
    type Cache = AttentionCache<B>;

    fn forward(&self, a: &Tensor<(N, T, E), B>, m: &Tensor<(N, S, E), B>) -> Tensor<(N, T, E), B> {
        self.0.cross(a, m).0
    }

    fn forward_train(
        &mut self,
        a: &Tensor<(N, T, E), B>,
        m: &Tensor<(N, S, E), B>,
    ) -> (Tensor<(N, T, E), B>, AttentionCache<B>) {
        self.0.cross(a, m)
    }

    fn backward(
        &self,
        c: &AttentionCache<B>,
        dy: &Tensor<(N, T, E), B>,
    ) -> Result<((Tensor<(N, T, E), B>, Tensor<(N, S, E), B>), Self)> {
        let me = &self.0;
        MultiheadAttention::<E, H, B>::check_dy(c, dy.dims())?;
        let e = E::N;
        let (ra, rm) = (c.batch * c.queries, c.batch * c.keys);
        let Some(memory) = &c.memory else {
            return Err(Error::Shape(
                "cross-attention backward: the cache is a self-attention pass's".into(),
            ));
        };
        let (dq, dk, dv, out_proj) = me.attend_backward(c, dy.storage())?;
        type M<E, H, B> = MultiheadAttention<E, H, B>;
        let dqa = M::<E, H, B>::join(&dq, &B::zeros_like(&dq, ra * 2 * e), ra, e, 2 * e);
        let dkv = M::<E, H, B>::join(&dk, &dv, rm, e, e);
        let dqm = M::<E, H, B>::join(&B::zeros_like(&dk, rm * e), &dkv, rm, e, 2 * e);
        let (in_proj_weight, in_proj_bias) =
            me.in_proj_grads(&[(&dqa, &c.x, ra), (&dqm, memory, rm)]);
        let mut da = Tensor::from_parts(me.input_grad(&dqa, ra), dims(&[c.batch, c.queries, e]));
        da.lengths = c.q_kept.clone();
        let mut dm = Tensor::from_parts(me.input_grad(&dqm, rm), dims(&[c.batch, c.keys, e]));
        dm.lengths = c.k_kept.clone();
        let grads = MultiheadAttention {
            in_proj_weight,
            in_proj_bias,
            out_proj,
            causal: false,
            rope: false,
            dropout: me.dropout,
            _heads: std::marker::PhantomData,
        };
        Ok(((da, dm), CrossAttention(grads)))
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> MultiheadAttention<E, H, B> {
    /// The queries of `n × t` steps of `a`, head-major `[n·heads, t, head]`.
    pub(super) fn cross_queries(&self, a: &B::Storage, n: usize, t: usize) -> B::Storage {
        let (e, rows) = (E::N, n * t);
        let (q, _) = Self::split(&self.project(a, rows), rows, e, 2 * e);
        Self::heads(&q, n, t, H::N)
    }

    /// The keys and values of `n × t` steps of a memory, head-major `[n·heads, t, head]`.
    pub(super) fn memory_keys_values(
        &self,
        m: &B::Storage,
        n: usize,
        t: usize,
    ) -> (B::Storage, B::Storage) {
        let (e, rows) = (E::N, n * t);
        let (_, kv) = Self::split(&self.project(m, rows), rows, e, 2 * e);
        let (k, v) = Self::split(&kv, rows, e, e);
        (Self::heads(&k, n, t, H::N), Self::heads(&v, n, t, H::N))
    }

    fn cross<N: Dim, T: Dim, S: Dim>(
        &self,
        a: &Tensor<(N, T, E), B>,
        m: &Tensor<(N, S, E), B>,
    ) -> (Tensor<(N, T, E), B>, AttentionCache<B>) {
        let e = E::N;
        let (n, tq, tk) = (a.dims()[0], a.dims()[1], m.dims()[1]);
        let (ql, kl) = (a.step_lengths(), m.step_lengths());
        let q = self.cross_queries(a.storage(), n, tq);
        let (k, v) = self.memory_keys_values(m.storage(), n, tk);
        let (y, attn, ctx) = self.attend((&q, &k, &v), n, (tq, tk), &ql, &kl, false, None);
        let mut out = Tensor::from_parts(y, dims(&[n, tq, e]));
        out.lengths = a.lengths().cloned();
        let cache = AttentionCache {
            x: a.storage().clone(),
            memory: Some(m.storage().clone()),
            heads: super::Heads::Split { q, k, v },
            attn,
            mask: None,
            ctx,
            q_lengths: ql,
            q_kept: a.lengths().cloned(),
            k_kept: m.lengths().cloned(),
            batch: n,
            queries: tq,
            keys: tk,
        };
        (out, cache)
    }
}
