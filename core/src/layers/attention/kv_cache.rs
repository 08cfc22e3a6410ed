//! Decoding with a key/value cache: `MultiheadAttention::forward_cached` runs new steps of a
//! self-attention layer over the keys and values of every step it has seen, kept in a
//! [`KvCache`], instead of recomputing them for the whole prefix at each new token.

use super::MultiheadAttention;
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
}

impl<B: Backend> Default for KvCache<B> {
    fn default() -> Self {
        KvCache { keys: None, values: None, batch: 0, steps: 0 }
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
        *cache = KvCache { keys: Some(keys), values: Some(values), batch: n, steps: total };
        let mut out = Tensor::from_parts(y, dims(&[n, t, e]));
        out.lengths = x.lengths().cloned();
        Ok(out)
    }
}
