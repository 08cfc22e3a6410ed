//! What the server runs: a model behind an object-safe interface over host values.

use std::marker::PhantomData;

use shapeflow::{Backend, Elem, Error, Layer, Result, Shape, Tensor};

/// A model the server can run: its per-sample input and output shapes and a batched forward
/// pass over host `f32` values. [`Served`] implements it for every `model!` model.
///
/// ```
/// use shapeflow::prelude::*;
/// use shapeflow_serve::{Servable, Served};
/// model! { pub struct Tiny { input: [3], fc: Linear<3, 2> } }
/// let dev = Cpu::default();
/// let served = Served::new(Tiny::<Cpu>::new(&dev, 0), dev).unwrap();
/// assert_eq!((served.input_dims(), served.output_dims()), (&[3usize][..], &[2usize][..]));
/// assert_eq!(served.predict(&[0.0; 6], 2).unwrap().len(), 4);
/// ```
pub trait Servable: Send + 'static {
    /// The per-sample input shape (without the batch axis).
    fn input_dims(&self) -> &[usize];
    /// The per-sample output shape (without the batch axis).
    fn output_dims(&self) -> &[usize];
    /// The outputs of `batch` samples laid out one after the other in `inputs`: `batch ×
    /// output numel` values (the server checks them for NaN and infinities).
    fn predict(&self, inputs: &[f32], batch: usize) -> Result<Vec<f32>>;
    /// Checks one request's `batch` samples before they join a batch: an `Err` for values the
    /// model cannot take (an `Embedding`'s token id outside its table), which the server
    /// answers with 400 and the message, leaving the requests batched with it unharmed.
    /// Defaults to `Ok(())`.
    fn check(&self, inputs: &[f32], batch: usize) -> Result<()> {
        let _ = (inputs, batch);
        Ok(())
    }
}

/// A model (any [`Layer`] over a batch of fixed-size samples) and the device it runs on, as a
/// [`Servable`]. `S` is the model's input shape; it is inferred when the model takes one shape.
///
/// ```
/// use shapeflow::prelude::*;
/// use shapeflow_serve::{Servable, Served};
/// model! { pub struct Net { input: [1, 2, 2], flat: Flatten, fc: Linear<4, 3> } }
/// let dev = Cpu::default();
/// let served = Served::new(Net::<Cpu>::new(&dev, 1), dev).unwrap();
/// assert_eq!(served.input_dims(), &[1, 2, 2]);
/// ```
pub struct Served<M, S, B> {
    model: M,
    dev: B,
    input: Vec<usize>,
    output: Vec<usize>,
    _shape: PhantomData<fn() -> S>,
}

/// The per-sample sizes of `S` (every size after the batch), or why it cannot be served.
fn sample_dims<S: Shape>(what: &str) -> Result<Vec<usize>> {
    let sizes = S::STATIC;
    if sizes.first() != Some(&None) {
        return Err(Error::Config(format!(
            "the model's {what} {} has no batch axis first; the server needs one",
            S::describe()
        )));
    }
    sizes[1..]
        .iter()
        .map(|d| {
            d.ok_or_else(|| {
                Error::Config(format!(
                    "the model's {what} {} has a runtime size after the batch (a sequence); \
                     the server serves models whose samples have a fixed shape",
                    S::describe()
                ))
            })
        })
        .collect()
}

impl<M, S, B> Served<M, S, B>
where
    M: Layer<S, B> + Send + Sync + 'static,
    S: Shape,
    B: Backend,
{
    /// Wraps `model`, run on `dev`; an `Err` when its input or output has a runtime size
    /// besides the batch.
    pub fn new(model: M, dev: B) -> Result<Self> {
        let input = sample_dims::<S>("input")?;
        let output = sample_dims::<M::Output>("output")?;
        Ok(Self { model, dev, input, output, _shape: PhantomData })
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }
}

impl<M, S, B> Servable for Served<M, S, B>
where
    M: Layer<S, B> + Send + Sync + 'static,
    S: Shape,
    B: Backend,
{
    fn input_dims(&self) -> &[usize] {
        &self.input
    }

    fn output_dims(&self) -> &[usize] {
        &self.output
    }

    fn predict(&self, inputs: &[f32], batch: usize) -> Result<Vec<f32>> {
        let data: Vec<B::Elem> = inputs.iter().map(|&v| B::Elem::from_f64(v as f64)).collect();
        let x = Tensor::<S, B>::from_batch(&self.dev, batch, data)?;
        let y = B::on_workers(|| self.model.forward(&x));
        let out: Vec<f32> = y.to_vec().into_iter().map(|v| v.as_f64() as f32).collect();
        Ok(out)
    }

    fn check(&self, inputs: &[f32], batch: usize) -> Result<()> {
        let data: Vec<B::Elem> = inputs.iter().map(|&v| B::Elem::from_f64(v as f64)).collect();
        let x = Tensor::<S, B>::from_batch(&self.dev, batch, data)?;
        self.model.check_input(&x)
    }
}
