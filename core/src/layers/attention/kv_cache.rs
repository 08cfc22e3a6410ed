//! Decoding with a key/value cache: `MultiheadAttention::forward_cached` runs new steps of a
//! self-attention layer over the keys and values of every step it has seen, kept in a
//! [`KvCache`], instead of recomputing them for the whole prefix at each new token; and
//! `CrossAttention::forward_cached` projects a decoder's fixed memory once.

use super::{CrossAttention, MultiheadAttention};
use crate::backend::{Backend, Joined};
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layers::recurrent::dims;
use crate::tensor::Tensor;

/// The keys and values one attention layer has computed so far, head-major
/// `[batch·heads, steps, head]`, for [`MultiheadAttention::forward_cached`]. One cache per
/// layer; [`KvCache::clear`] starts a new sequence.
///
/// ```
/// use shapeflow_core::layers::KvCache;
/// use shapeflow_cpu::Cpu;
/// let cache = KvCache::<Cpu>::new();
/// assert_eq!(cache.len(), 0);
/// ```
pub struct KvCache<B: Backend> {
    keys: Option<B::Storage>,
    values: Option<B::Storage>,
    batch: usize,
    steps: usize,
    /// The cached keys' lengths per sample (a cross-attention memory's; self-attention's are
    /// all `steps`).
    lengths: Vec<usize>,
}

impl<B: Backend> Default for KvCache<B> {
    fn default() -> Self {
        KvCache { keys: None, values: None, batch: 0, steps: 0, lengths: Vec::new() }
    }
}

impl<B: Backend> std::fmt::Debug for KvCache<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KvCache({} samples × {} steps)", self.batch, self.steps)
    }
}

impl<B: Backend> KvCache<B> {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Steps cached (the position the next step will have).
    pub fn len(&self) -> usize {
        self.steps
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.steps == 0
    }

    /// Forgets every cached step.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// `old` with `new`'s steps after each block's: `[blocks, old_steps + new_steps, head]`.
    fn append(
        old: Option<&B::Storage>,
        new: B::Storage,
        blocks: usize,
        (old_w, new_w): (usize, usize),
    ) -> B::Storage {
        match old {
            None => new,
            Some(old) => {
                let mut y = B::scratch_like(old, blocks * (old_w + new_w));
                B::concat_rows(
                    old,
                    &new,
                    &mut y,
                    Joined { rows: blocks, left: old_w, right: new_w },
                );
                y
            }
        }
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> MultiheadAttention<E, H, B> {
    /// Self-attention of `x`'s steps, which follow the `cache.len()` steps already in `cache`,
    /// over those and themselves; their keys and values are added to the cache. Equal to the
    /// last steps of [`Layer::forward`](crate::Layer::forward) over the whole sequence (causal
    /// and rotary settings included), at the cost of the new steps only. Every sample of `x`
    /// must have all its steps (no padding), the batch size stays that of the first call, and
    /// with the causal mask only the first call (the prompt) may have more than one step.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor};
    /// use shapeflow_core::layers::{KvCache, MultiheadAttention};
    /// use shapeflow_cpu::Cpu;
    /// use typenum::{U2, U4};
    /// let dev = Cpu::default();
    /// let attn = MultiheadAttention::<U4, U2, Cpu>::init(&dev, &mut Rng::new(0)).causal();
    /// let seq: Vec<f32> = (0..12).map(|i| i as f32 / 7.0).collect(); // 3 steps of 4
    /// let whole = attn.forward(&Tensor::<(Dyn, Dyn, U4), Cpu>::from_sequences(&dev, &[seq.clone()]).unwrap());
    /// let mut cache = KvCache::new();
    /// let step = |s: &[f32]| Tensor::<(Dyn, Dyn, U4), Cpu>::from_sequences(&dev, &[s.to_vec()]).unwrap();
    /// attn.forward_cached(&step(&seq[..8]), &mut cache).unwrap(); // the first two steps
    /// let last = attn.forward_cached(&step(&seq[8..]), &mut cache).unwrap();
    /// for (a, b) in last.to_vec().iter().zip(&whole.to_vec()[8..]) {
    ///     assert!((a - b).abs() < 1e-5);
    /// }
    /// ```
    pub fn forward_cached<N: Dim, T: Dim>(
        &self,
        x: &Tensor<(N, T, E), B>,
        cache: &mut KvCache<B>,
    ) -> Result<Tensor<(N, T, E), B>> {
        let (n, t) = (x.dims()[0], x.dims()[1]);
        if x.step_lengths().iter().any(|&l| l != t) {
            return Err(Error::Shape(format!(
                "MultiheadAttention::forward_cached: every sample needs all {t} steps (lengths {:?}); decode padded batches one sample at a time",
                x.step_lengths()
            )));
        }
        if !cache.is_empty() && cache.batch != n {
            return Err(Error::Shape(format!(
                "MultiheadAttention::forward_cached: a batch of {n} after a cache of {} samples (clear the cache for a new batch)",
                cache.batch
            )));
        }
        if t == 0 {
            return Ok(x.clone());
        }
        if !cache.is_empty() && t > 1 && self.causal {
            // Each of several new steps would see the cache and the new steps up to itself: a
            // mask the whole-sequence causal mask does not express.
            return Err(Error::Shape(format!(
                "MultiheadAttention::forward_cached: {t} new steps after {} cached ones; with the causal mask, give the prompt in the first call and one step per call after it",
                cache.steps
            )));
        }
        let (e, h, d) = (E::N, H::N, Self::HEAD);
        let start = cache.steps;
        let (q, k, v) = self.qkv(x.storage(), n, t, start);
        let blocks = n * h;
        let keys = KvCache::<B>::append(cache.keys.as_ref(), k, blocks, (start * d, t * d));
        let values = KvCache::<B>::append(cache.values.as_ref(), v, blocks, (start * d, t * d));
        let total = start + t;
        // With nothing cached the new steps are the whole sequence (causal as in `forward`);
        // a single new step after cached ones sees every key.
        let causal = self.causal && start == 0;
        let (y, _, _) = self.attend(
            (&q, &keys, &values),
            n,
            (t, total),
            &vec![t; n],
            &vec![total; n],
            causal,
            None,
        );
        *cache = KvCache {
            keys: Some(keys),
            values: Some(values),
            batch: n,
            steps: total,
            lengths: vec![total; n],
        };
        let mut out = Tensor::from_parts(y, dims(&[n, t, e]));
        out.lengths = x.lengths().cloned();
        Ok(out)
    }
}

impl<E: StaticDim, H: StaticDim, B: Backend> CrossAttention<E, H, B> {
    /// Cross-attention of the query steps `a` over `memory`, whose keys and values are
    /// projected on the first call and kept in `cache` for the next ones: a decoder's memory
    /// stays the same while a sequence is decoded, so each new step projects only itself.
    /// Equal to [`Merge::forward`](crate::layers::Merge::forward) (each query attends to the
    /// memory alone, its own lengths masking its keys). Pass the same memory on every call, or
    /// clear the cache; a memory of other sizes is an `Err`.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Init, Rng, Tensor};
    /// use shapeflow_core::layers::{CrossAttention, KvCache, Merge};
    /// use shapeflow_cpu::Cpu;
    /// use typenum::{U2, U4};
    /// let dev = Cpu::default();
    /// let attn = CrossAttention::<U4, U2, Cpu>::init(&dev, &mut Rng::new(0));
    /// let memory = Tensor::<(Dyn, Dyn, U4), Cpu>::from_sequences(&dev, &[vec![0.3; 12]]).unwrap();
    /// let tgt = Tensor::<(Dyn, Dyn, U4), Cpu>::from_sequences(&dev, &[vec![0.5; 4]]).unwrap();
    /// let mut cache = KvCache::new();
    /// let y = attn.forward_cached(&tgt, &memory, &mut cache).unwrap();
    /// assert_eq!(y.to_vec(), Merge::forward(&attn, &tgt, &memory).to_vec());
    /// assert_eq!(cache.len(), 3); // the memory's steps
    /// ```
    pub fn forward_cached<N: Dim, T: Dim, S: Dim>(
        &self,
        a: &Tensor<(N, T, E), B>,
        memory: &Tensor<(N, S, E), B>,
        cache: &mut KvCache<B>,
    ) -> Result<Tensor<(N, T, E), B>> {
        let me = &self.0;
        let e = E::N;
        let (n, tq, tk) = (a.dims()[0], a.dims()[1], memory.dims()[1]);
        if cache.is_empty() {
            let (keys, values) = me.memory_keys_values(memory.storage(), n, tk);
            *cache = KvCache {
                keys: Some(keys),
                values: Some(values),
                batch: n,
                steps: tk,
                lengths: memory.step_lengths(),
            };
        } else if cache.batch != n || cache.steps != tk {
            return Err(Error::Shape(format!(
                "CrossAttention::forward_cached: a memory of {n} × {tk} steps after a cache of {} × {} (clear the cache for a new memory)",
                cache.batch, cache.steps
            )));
        }
        let (Some(keys), Some(values)) = (cache.keys.as_ref(), cache.values.as_ref()) else {
            return Ok(a.clone());
        };
        let q = me.cross_queries(a.storage(), n, tq);
        let q_lengths = a.step_lengths();
        let (y, _, _) =
            me.attend((&q, keys, values), n, (tq, tk), &q_lengths, &cache.lengths, false, None);
        let mut out = Tensor::from_parts(y, dims(&[n, tq, e]));
        out.lengths = a.lengths().cloned();
        Ok(out)
    }
}
