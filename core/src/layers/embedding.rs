//! `Embedding<V, D>`: token ids `[batch, steps]` → vectors `[batch, steps, D]`, PyTorch's
//! `nn.Embedding(V, D, padding_idx)` with its `weight [V, D]`.

use crate::backend::Backend;
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::layers::recurrent::dims;
use crate::module::Module;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// A table of `V` vectors of `D` values, looked up by token id.
///
/// Ids are the input tensor's values (whole numbers in `0..V`, exact in `f32` up to 2²⁴); an id
/// that is not one (negative, fractional, `V` or more, NaN) gives a row of NaN instead of another
/// token's vector; [`Layer::check_input`] (which `predict`, `evaluate` and the server call
/// before `forward`) and the training backward return an `Err` naming the sample, the position
/// and the id. Rows of
/// `padding_idx` start at zero and receive no gradient, as in PyTorch. Initialised as PyTorch's:
/// `N(0, 1)`. A sequence batch's lengths are kept on the output.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor};
/// use shapeflow_core::layers::Embedding;
/// use shapeflow_cpu::Cpu;
/// use typenum::{U2, U5};
/// let dev = Cpu::default();
/// let emb = Embedding::<U5, U2, Cpu>::init(&dev, &mut Rng::new(0)).with_padding_idx(0);
/// let ids = Tensor::<(Dyn, Dyn), Cpu>::from_sequences(&dev, &[vec![3.0, 0.0], vec![4.0]]).unwrap();
/// let y = emb.forward(&ids);
/// assert_eq!(y.dims(), &[2, 2, 2]);
/// assert_eq!(&y.to_vec()[2..4], &[0.0, 0.0]); // the padding row
/// ```
pub struct Embedding<V: StaticDim, D: StaticDim, B: Backend> {
    /// The vectors, `[V, D]`.
    pub weight: Tensor<(V, D), B>,
    /// The id whose row stays zero and gets no gradient (PyTorch's `padding_idx`).
    pub padding_idx: Option<usize>,
}

impl<V: StaticDim, D: StaticDim, B: Backend> Clone for Embedding<V, D, B> {
    fn clone(&self) -> Self {
        Embedding { weight: self.weight.clone(), padding_idx: self.padding_idx }
    }
}

impl<V: StaticDim, D: StaticDim, B: Backend> std::fmt::Debug for Embedding<V, D, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Embedding({}, {})", V::N, D::N)
    }
}

impl<V: StaticDim, D: StaticDim, B: Backend> Init<B> for Embedding<V, D, B> {
    fn init(dev: &B, rng: &mut Rng) -> Self {
        let data: Vec<B::Elem> =
            (0..V::N * D::N).map(|_| <B::Elem as crate::Elem>::from_f64(rng.normal())).collect();
        Embedding {
            weight: Tensor::from_parts(dev.upload(&data), dims(&[V::N, D::N])),
            padding_idx: None,
        }
    }
}

impl<V: StaticDim, D: StaticDim, B: Backend> Module<B> for Embedding<V, D, B> {
    crate::visit_param_fields!(weight);
}

impl<V: StaticDim, D: StaticDim, B: Backend> Embedding<V, D, B> {
    /// The same table with row `idx` zeroed and frozen (PyTorch's `padding_idx`); an index of
    /// `V` or more is ignored.
    pub fn with_padding_idx(mut self, idx: usize) -> Self {
        if idx < V::N {
            let mut host = self.weight.to_vec();
            host[idx * D::N..(idx + 1) * D::N].fill(<B::Elem as crate::Elem>::from_f64(0.0));
            self.weight = Tensor::from_parts(
                B::upload_like(self.weight.storage(), &host),
                self.weight.shape(),
            );
            self.padding_idx = Some(idx);
        }
        self
    }

    /// Each id as a row index; `usize::MAX` for one that is not an id of this table.
    pub(crate) fn rows(ids: &[B::Elem]) -> Vec<usize> {
        ids.iter()
            .map(|&v| {
                let f = crate::Elem::as_f64(v);
                if f >= 0.0 && f < V::N as f64 && f.fract() == 0.0 {
                    f as usize
                } else {
                    usize::MAX
                }
            })
            .collect()
    }

    fn lookup<N: Dim, T: Dim>(
        &self,
        ids: &Tensor<(N, T), B>,
    ) -> (Tensor<(N, T, D), B>, EmbeddingCache) {
        let host = ids.to_vec();
        let rows = Self::rows(&host);
        let (n, t) = (ids.dims()[0], ids.dims()[1]);
        let mut y = ids.scratch_on::<(N, T, D)>(dims(&[n, t, D::N]));
        B::gather_rows(self.weight.storage(), &rows, y.storage_mut(), D::N);
        (y, EmbeddingCache::new(rows, &host, [n, t], &ids.step_lengths()))
    }
}

/// What backward needs: each position's row (`usize::MAX` where none), the input sizes, and
/// the first input that was not an id of the table (its flat position and value).
pub struct EmbeddingCache {
    rows: Vec<usize>,
    sizes: [usize; 2],
    bad: Option<(usize, f64)>,
}

impl EmbeddingCache {
    /// The cache of a lookup of `ids` (batch-major, as `rows` read them) in a `[batch, steps]`
    /// batch whose samples have `lengths` valid steps (padding may hold anything).
    pub(crate) fn new<E: crate::Elem>(
        rows: Vec<usize>,
        ids: &[E],
        sizes: [usize; 2],
        lengths: &[usize],
    ) -> Self {
        let steps = sizes[1].max(1);
        let valid = |i: usize| lengths.get(i / steps).is_none_or(|&len| i % steps < len);
        let bad = rows
            .iter()
            .enumerate()
            .position(|(i, &r)| r == usize::MAX && valid(i))
            .map(|i| (i, ids[i].as_f64()));
        EmbeddingCache { rows, sizes, bad }
    }

    /// An `Err` naming the first input that was not an id of a `vocab`-row table.
    pub(crate) fn check_ids(&self, vocab: usize) -> Result<()> {
        match self.bad {
            None => Ok(()),
            Some((i, id)) => {
                let steps = self.sizes[1].max(1);
                let layer = "Embedding".to_string();
                Err(Error::InvalidId {
                    layer,
                    sample: i / steps,
                    position: i % steps,
                    id,
                    rows: vocab,
                })
            }
        }
    }

    /// The batch's `[batch, steps]`.
    pub(crate) fn sizes(&self) -> [usize; 2] {
        self.sizes
    }
}

impl<N: Dim, T: Dim, V: StaticDim, D: StaticDim, B: Backend> Layer<(N, T), B>
    for Embedding<V, D, B>
{
    type Output = (N, T, D);
    type Cache = EmbeddingCache;

    fn forward(&self, ids: &Tensor<(N, T), B>) -> Tensor<(N, T, D), B> {
        self.lookup(ids).0
    }

    fn check_input(&self, ids: &Tensor<(N, T), B>) -> Result<()> {
        let host = ids.to_vec();
        let sizes = [ids.dims()[0], ids.dims()[1]];
        EmbeddingCache::new(Self::rows(&host), &host, sizes, &ids.step_lengths()).check_ids(V::N)
    }

    fn forward_train(&mut self, ids: &Tensor<(N, T), B>) -> (Tensor<(N, T, D), B>, EmbeddingCache) {
        self.lookup(ids)
    }

    fn backward(
        &self,
        cache: &EmbeddingCache,
        dy: &Tensor<(N, T, D), B>,
    ) -> Result<(Tensor<(N, T), B>, Self)> {
        let grads = self.backward_params(cache, dy)?;
        // Token ids have no gradient.
        let dx = dy.zeros_on::<(N, T)>(dims(&cache.sizes));
        Ok((dx, grads))
    }

    fn backward_params(&self, cache: &EmbeddingCache, dy: &Tensor<(N, T, D), B>) -> Result<Self> {
        cache.check_ids(V::N)?;
        let [n, t] = cache.sizes;
        if dy.dims() != [n, t, D::N] {
            return Err(Error::Shape(format!(
                "Embedding backward: the output gradient has sizes {:?} but the forward pass produced [{n}, {t}, {}]",
                dy.dims(),
                D::N
            )));
        }
        let frozen = self.padding_idx.unwrap_or(usize::MAX);
        let rows: Vec<usize> =
            cache.rows.iter().map(|&r| if r == frozen { usize::MAX } else { r }).collect();
        let mut weight = self.weight.zeros_like();
        B::scatter_add_rows(dy.storage(), &rows, weight.storage_mut(), D::N);
        Ok(Embedding { weight, padding_idx: self.padding_idx })
    }
}
