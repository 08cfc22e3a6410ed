//! Inference over a dataset: outputs, class predictions and probabilities, in batches on the
//! backend's workers.

use crate::backend::{Backend, Elem};
use crate::data::Dataset;
use crate::dim::StaticDim;
use crate::error::Result;
use crate::shape::Shape;

use super::{FitOutput, Trainable};

/// The model's outputs for every sample of `data` (inference mode, batches of `batch_size`), as
/// host values, sample after sample (`data.len() × C`). For a model whose output is a sequence
/// (`[seq, C]`: a language model, a tagger), one row per valid step, the samples' steps in
/// order; padded steps are left out. Inputs the model cannot take (an `Embedding`'s token id
/// outside its table) are an `Err` naming the sample, the position and the value
/// ([`Layer::check_input`](crate::Layer::check_input)).
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, data::Dataset, fit::predict, layers::Linear};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let data = Dataset::new(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], vec![0, 1, 0], 2).unwrap();
/// let model = Linear::<typenum::U2, typenum::U3, Cpu>::init(&dev, &mut Rng::new(0));
/// let out = predict::<_, (Dyn, typenum::U2), typenum::U3, Cpu>(&model, &dev, &data, 2).unwrap();
/// assert_eq!(out.len(), 3 * 3);
/// ```
pub fn predict<M, S, C, B>(
    model: &M,
    dev: &B,
    data: &Dataset,
    batch_size: usize,
) -> Result<Vec<f32>>
where
    M: Trainable<S, C, B>,
    S: Shape,
    C: StaticDim,
    B: Backend,
{
    let mut out = Vec::with_capacity(data.len() * C::N);
    let mut first = 0;
    for batch in data.batches_in_order(batch_size.max(1)) {
        let x = batch.inputs_tensor::<S, B>(dev)?;
        model.check_input(&x).map_err(|e| e.counted_from(first))?;
        first += batch.len();
        let y = B::on_workers(|| M::Output::rows(model.forward(&x)).0);
        out.extend(y.to_vec().into_iter().map(|v| v.as_f64() as f32));
    }
    Ok(out)
}

/// The predicted class of every sample: the first maximum of its outputs (the rule of
/// `metrics::in_top_k`, so it agrees with the reported accuracy).
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, data::Dataset, fit::predict_classes, layers::Linear};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let data = Dataset::new(vec![1.0, 0.0, 0.0, 1.0], vec![0, 1], 2).unwrap();
/// let model = Linear::<typenum::U2, typenum::U3, Cpu>::init(&dev, &mut Rng::new(0));
/// let classes = predict_classes::<_, (Dyn, typenum::U2), typenum::U3, Cpu>(&model, &dev, &data, 64).unwrap();
/// assert!(classes.iter().all(|&c| c < 3));
/// ```
pub fn predict_classes<M, S, C, B>(
    model: &M,
    dev: &B,
    data: &Dataset,
    batch_size: usize,
) -> Result<Vec<usize>>
where
    M: Trainable<S, C, B>,
    S: Shape,
    C: StaticDim,
    B: Backend,
{
    let out = predict::<M, S, C, B>(model, dev, data, batch_size)?;
    out.chunks_exact(C::N.max(1))
        .enumerate()
        .map(|(i, row)| {
            let row: Vec<f64> = row.iter().map(|&v| v as f64).collect();
            (0..row.len()).find(|&c| crate::metrics::in_top_k(&row, c, 1)).ok_or_else(|| {
                crate::Error::NonFinite(format!(
                    "the model's outputs for sample {i} are {row:?}: no class can be picked (an input outside what the model accepts, such as a token id outside an Embedding's table?)"
                ))
            })
        })
        .collect()
}

/// Class probabilities of every sample: the softmax of its outputs (for a model ending in
/// logits), sample after sample.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, data::Dataset, fit::predict_proba, layers::Linear};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let data = Dataset::new(vec![1.0, 0.0], vec![0], 2).unwrap();
/// let model = Linear::<typenum::U2, typenum::U3, Cpu>::init(&dev, &mut Rng::new(0));
/// let p = predict_proba::<_, (Dyn, typenum::U2), typenum::U3, Cpu>(&model, &dev, &data, 64).unwrap();
/// assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
/// ```
pub fn predict_proba<M, S, C, B>(
    model: &M,
    dev: &B,
    data: &Dataset,
    batch_size: usize,
) -> Result<Vec<f32>>
where
    M: Trainable<S, C, B>,
    S: Shape,
    C: StaticDim,
    B: Backend,
{
    let mut out = predict::<M, S, C, B>(model, dev, data, batch_size)?;
    for row in out.chunks_exact_mut(C::N.max(1)) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let total: f64 = row.iter().map(|&v| ((v - max) as f64).exp()).sum();
        row.iter_mut().for_each(|v| *v = (((*v - max) as f64).exp() / total) as f32);
    }
    Ok(out)
}
