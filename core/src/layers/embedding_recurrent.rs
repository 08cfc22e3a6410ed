//! An `Embedding` read only by a recurrent layer (`Lstm`, `Gru`, `Rnn`), run as one pass; what
//! `model!` generates for such a pair. The first layer's input projection of token `id` is row
//! `id` of `table·W_ihᵀ`, so the table is projected once (`vocab` rows) and gathered per token
//! instead of multiplying every token's vector; backward sums the gates' gradients per id and
//! gives `dW_ih` and the table's gradient from those `vocab` rows. The layers, their parameters
//! and their results are the ones of the two layers run one after the other (up to rounding);
//! the character language model of the benchmarks (W5) spends a quarter of its multiply-adds less.

use crate::backend::Backend;
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layers::embedding::{Embedding, EmbeddingCache};
use crate::layers::recurrent::dims;
use crate::layers::recurrent_layer::{Cell, FirstInput, Recurrent, RecurrentCache};
use crate::layers::recurrent_projection::{InputGrad, TableRef};
use crate::tensor::Tensor;

/// The recurrent layer over the embedding of `ids` (`[batch, steps]` → `[batch, steps, O]`),
/// and each layer's cache.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor};
/// use shapeflow_core::layers::{Embedding, Lstm, embedding_recurrent};
/// use shapeflow_cpu::Cpu;
/// use typenum::{U3, U4, U10};
/// let dev = Cpu::default();
/// let mut emb = Embedding::<U10, U3, Cpu>::init(&dev, &mut Rng::new(0));
/// let mut lstm = Lstm::<U3, U4, U4, 1, Cpu>::init(&dev, &mut Rng::new(1));
/// let ids = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
/// let (y, ce, cr) = embedding_recurrent::forward_train(&mut emb, &mut lstm, &ids);
/// let apart = lstm.forward(&emb.forward(&ids));
/// assert!(y.to_vec().iter().zip(apart.to_vec()).all(|(a, b)| (a - b).abs() < 1e-6));
/// let (g_emb, g_lstm) = embedding_recurrent::backward_params(&emb, &lstm, &ce, &cr, &y).unwrap();
/// assert_eq!(g_emb.weight.dims(), &[10, 3]);
/// ```
pub fn forward_train<N, T, V, D, C, H, O, const L: usize, B>(
    emb: &mut Embedding<V, D, B>,
    rec: &mut Recurrent<C, D, H, O, L, B>,
    ids: &Tensor<(N, T), B>,
) -> (Tensor<(N, T, O), B>, EmbeddingCache, RecurrentCache<B>)
where
    N: Dim,
    T: Dim,
    V: StaticDim,
    D: StaticDim,
    C: Cell,
    H: StaticDim,
    O: StaticDim,
    B: Backend,
{
    run(emb, rec, ids)
}

/// [`forward_train`] without the caches (inference).
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, Tensor};
/// use shapeflow_core::layers::{Embedding, Gru, embedding_recurrent};
/// use shapeflow_cpu::Cpu;
/// use typenum::{U3, U4, U10};
/// let dev = Cpu::default();
/// let emb = Embedding::<U10, U3, Cpu>::init(&dev, &mut Rng::new(0));
/// let gru = Gru::<U3, U4, U4, 1, Cpu>::init(&dev, &mut Rng::new(1));
/// let ids = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[1, 2], vec![7.0, 9.0]).unwrap();
/// assert_eq!(embedding_recurrent::forward(&emb, &gru, &ids).dims(), &[1, 2, 4]);
/// ```
pub fn forward<N, T, V, D, C, H, O, const L: usize, B>(
    emb: &Embedding<V, D, B>,
    rec: &Recurrent<C, D, H, O, L, B>,
    ids: &Tensor<(N, T), B>,
) -> Tensor<(N, T, O), B>
where
    N: Dim,
    T: Dim,
    V: StaticDim,
    D: StaticDim,
    C: Cell,
    H: StaticDim,
    O: StaticDim,
    B: Backend,
{
    run(emb, rec, ids).0
}

fn run<N, T, V, D, C, H, O, const L: usize, B>(
    emb: &Embedding<V, D, B>,
    rec: &Recurrent<C, D, H, O, L, B>,
    ids: &Tensor<(N, T), B>,
) -> (Tensor<(N, T, O), B>, EmbeddingCache, RecurrentCache<B>)
where
    N: Dim,
    T: Dim,
    V: StaticDim,
    D: StaticDim,
    C: Cell,
    H: StaticDim,
    O: StaticDim,
    B: Backend,
{
    let (batch, steps) = (ids.dims()[0], ids.dims()[1]);
    let host = ids.to_vec();
    let rows = Embedding::<V, D, B>::rows(&host);
    let table = TableRef { values: emb.weight.storage(), vocab: V::N };
    let first = FirstInput::Table(time_major(&rows, batch, steps), table);
    let (y, cache) = rec.run_time_major(first, ids.step_lengths(), ids.lengths(), batch, steps);
    let mut out = Tensor::from_parts(y, dims(&[batch, steps, O::N]));
    out.lengths = ids.lengths().cloned();
    let lengths = ids.step_lengths();
    (out, EmbeddingCache::new(rows, &host, [batch, steps], &lengths), cache)
}

/// The gradients of an embedding and the recurrent layer reading it.
pub type PairGrads<V, D, C, H, O, const L: usize, B> =
    (Embedding<V, D, B>, Recurrent<C, D, H, O, L, B>);

/// The backward of [`forward_train`]: both layers' gradients (token ids have none).
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, Tensor};
/// use shapeflow_core::layers::{Embedding, Rnn, embedding_recurrent};
/// use shapeflow_cpu::Cpu;
/// use typenum::{U3, U4, U10};
/// let dev = Cpu::default();
/// let mut emb = Embedding::<U10, U3, Cpu>::init(&dev, &mut Rng::new(0));
/// let mut rnn = Rnn::<U3, U4, U4, 2, Cpu>::init(&dev, &mut Rng::new(1));
/// let ids = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[1, 2], vec![7.0, 9.0]).unwrap();
/// let (y, ce, cr) = embedding_recurrent::forward_train(&mut emb, &mut rnn, &ids);
/// let (g_emb, _g_rnn) = embedding_recurrent::backward_params(&emb, &rnn, &ce, &cr, &y).unwrap();
/// // Only the two ids read get a gradient.
/// let g = g_emb.weight.to_vec();
/// assert!(g[..21].iter().all(|&v| v == 0.0) && g[21..24].iter().any(|&v| v != 0.0));
/// ```
pub fn backward_params<N, T, V, D, C, H, O, const L: usize, B>(
    emb: &Embedding<V, D, B>,
    rec: &Recurrent<C, D, H, O, L, B>,
    e_cache: &EmbeddingCache,
    r_cache: &RecurrentCache<B>,
    dy: &Tensor<(N, T, O), B>,
) -> Result<PairGrads<V, D, C, H, O, L, B>>
where
    N: Dim,
    T: Dim,
    V: StaticDim,
    D: StaticDim,
    C: Cell,
    H: StaticDim,
    O: StaticDim,
    B: Backend,
{
    // The recurrent layer's backward checks `dy` against its cache; the embedding's says
    // whether every input was an id of the table.
    e_cache.check_ids(V::N)?;
    let table = TableRef { values: emb.weight.storage(), vocab: V::N };
    let (first, g_rec) =
        rec.backward_time_major(r_cache, (dy.storage(), dy.dims()), Some(table))?;
    let InputGrad::Table(d_table) = first else {
        return Err(Error::Shape(format!(
            "Embedding → {} backward: the cache is not of the fused pass",
            C::NAME
        )));
    };
    let mut weight = Tensor::from_parts(d_table, dims(&[V::N, D::N]));
    if let Some(p) = emb.padding_idx.filter(|&p| p < V::N) {
        // PyTorch's `padding_idx`: that row gets no gradient.
        let mut host = weight.to_vec();
        host[p * D::N..(p + 1) * D::N].fill(<B::Elem as crate::Elem>::from_f64(0.0));
        weight = Tensor::from_parts(B::upload_like(weight.storage(), &host), weight.shape());
    }
    Ok((Embedding { weight, padding_idx: emb.padding_idx }, g_rec))
}

/// [`backward_params`] with the ids' gradient (zeros: token ids have none) first.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, Tensor};
/// use shapeflow_core::layers::{Embedding, Lstm, embedding_recurrent};
/// use shapeflow_cpu::Cpu;
/// use typenum::{U3, U4, U10};
/// let dev = Cpu::default();
/// let mut emb = Embedding::<U10, U3, Cpu>::init(&dev, &mut Rng::new(0));
/// let mut lstm = Lstm::<U3, U4, U4, 1, Cpu>::init(&dev, &mut Rng::new(1));
/// let ids = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[1, 2], vec![7.0, 9.0]).unwrap();
/// let (y, ce, cr) = embedding_recurrent::forward_train(&mut emb, &mut lstm, &ids);
/// let (d_ids, _, _) = embedding_recurrent::backward(&emb, &lstm, &ce, &cr, &y).unwrap();
/// assert_eq!(d_ids.to_vec(), vec![0.0, 0.0]);
/// ```
#[allow(clippy::type_complexity)]
pub fn backward<N, T, V, D, C, H, O, const L: usize, B>(
    emb: &Embedding<V, D, B>,
    rec: &Recurrent<C, D, H, O, L, B>,
    e_cache: &EmbeddingCache,
    r_cache: &RecurrentCache<B>,
    dy: &Tensor<(N, T, O), B>,
) -> Result<(Tensor<(N, T), B>, Embedding<V, D, B>, Recurrent<C, D, H, O, L, B>)>
where
    N: Dim,
    T: Dim,
    V: StaticDim,
    D: StaticDim,
    C: Cell,
    H: StaticDim,
    O: StaticDim,
    B: Backend,
{
    let (g_emb, g_rec) = backward_params(emb, rec, e_cache, r_cache, dy)?;
    Ok((dy.zeros_on::<(N, T)>(dims(&e_cache.sizes())), g_emb, g_rec))
}

/// Batch-major `[batch, steps]` row indices to time-major `[steps, batch]`.
fn time_major(rows: &[usize], batch: usize, steps: usize) -> Vec<usize> {
    let mut out = vec![usize::MAX; rows.len()];
    for n in 0..batch {
        for t in 0..steps {
            if let (Some(o), Some(&r)) = (out.get_mut(t * batch + n), rows.get(n * steps + t)) {
                *o = r;
            }
        }
    }
    out
}
