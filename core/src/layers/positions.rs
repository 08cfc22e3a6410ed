//! Positional information for attention: `PositionEmbedding<MAX, E>` adds a learned vector per
//! step (`weight [MAX, E]`, as a PyTorch `nn.Embedding(MAX, E)` looked up with `arange(steps)`),
//! `SinusoidalPositions` adds the fixed sine/cosine table of "Attention Is All You Need". Both
//! `[batch, seq, E] → [batch, seq, E]`, padded steps left at zero.

use crate::backend::{Backend, StepBatch};
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::layers::recurrent::dims;
use crate::module::Module;
use crate::rng::Rng;
use crate::seq::Lengths;
use crate::tensor::Tensor;

/// A learned vector per position added to each step: `y[b, t] = x[b, t] + weight[t]`.
///
/// Sequences longer than `MAX` steps cannot be encoded: their steps from `MAX` on become NaN,
/// which training reports as a non-finite loss (never another position's vector). Initialised
/// as PyTorch's `nn.Embedding`: `N(0, 1)`.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor};
/// use shapeflow_core::layers::PositionEmbedding;
/// use shapeflow_cpu::Cpu;
/// use typenum::{U2, U8};
/// let dev = Cpu::default();
/// let pos = PositionEmbedding::<U8, U2, Cpu>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, Dyn, U2), Cpu>::from_sequences(&dev, &[vec![0.0; 4], vec![0.0; 2]]).unwrap();
/// let y = pos.forward(&x).to_vec();
/// assert_eq!(&y[..4], &pos.weight.to_vec()[..4]); // positions 0 and 1
/// assert_eq!(&y[6..], &[0.0, 0.0]); // the padded step
/// ```
pub struct PositionEmbedding<M: StaticDim, E: StaticDim, B: Backend> {
    /// One vector per position, `[MAX, E]`.
    pub weight: Tensor<(M, E), B>,
}

impl<M: StaticDim, E: StaticDim, B: Backend> Clone for PositionEmbedding<M, E, B> {
    fn clone(&self) -> Self {
        PositionEmbedding { weight: self.weight.clone() }
    }
}

impl<M: StaticDim, E: StaticDim, B: Backend> std::fmt::Debug for PositionEmbedding<M, E, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PositionEmbedding({}, {})", M::N, E::N)
    }
}

impl<M: StaticDim, E: StaticDim, B: Backend> Init<B> for PositionEmbedding<M, E, B> {
    fn init(dev: &B, rng: &mut Rng) -> Self {
        let data: Vec<B::Elem> =
            (0..M::N * E::N).map(|_| <B::Elem as crate::Elem>::from_f64(rng.normal())).collect();
        PositionEmbedding { weight: Tensor::from_parts(dev.upload(&data), dims(&[M::N, E::N])) }
    }
}

impl<M: StaticDim, E: StaticDim, B: Backend> Module<B> for PositionEmbedding<M, E, B> {
    crate::visit_param_fields!(weight);
}

/// What the positional layers' backward needs: the sizes and lengths.
pub struct PositionsCache {
    lengths: Vec<usize>,
    kept: Option<Lengths>,
    batch: usize,
    steps: usize,
}

fn cache_of<S: crate::shape::Shape, B: Backend>(x: &Tensor<S, B>) -> PositionsCache {
    PositionsCache {
        lengths: x.step_lengths(),
        kept: x.lengths().cloned(),
        batch: x.dims()[0],
        steps: x.dims()[1],
    }
}

/// Each step's position row (`usize::MAX` from `max` on: a row of NaN).
fn position_rows(batch: usize, steps: usize, max: usize) -> Vec<usize> {
    position_rows_from(batch, steps, 0, max)
}

/// [`position_rows`] for steps at positions `start..start + steps`.
fn position_rows_from(batch: usize, steps: usize, start: usize, max: usize) -> Vec<usize> {
    (0..batch * steps)
        .map(|i| if start + i % steps < max { start + i % steps } else { usize::MAX })
        .collect()
}

/// `y = x + table`, padded steps zero, lengths kept.
fn add_rows<N: Dim, T: Dim, E: StaticDim, B: Backend>(
    x: &Tensor<(N, T, E), B>,
    mut table: B::Storage,
    c: &PositionsCache,
) -> Tensor<(N, T, E), B> {
    let g = StepBatch { batch: c.batch, steps: c.steps, width: E::N };
    B::axpy(<B::Elem as num_traits::One>::one(), x.storage(), &mut table);
    B::zero_padding(&mut table, &c.lengths, g);
    let mut y = Tensor::from_parts(table, dims(&[c.batch, c.steps, E::N]));
    y.lengths = c.kept.clone();
    y
}

/// `dx = dy` at valid steps, zero at padded ones.
fn pass_gradient<N: Dim, T: Dim, E: StaticDim, B: Backend>(
    what: &str,
    c: &PositionsCache,
    dy: &Tensor<(N, T, E), B>,
) -> Result<Tensor<(N, T, E), B>> {
    if dy.dims() != [c.batch, c.steps, E::N] {
        return Err(Error::Shape(format!(
            "{what} backward: the output gradient has sizes {:?} but the forward pass produced [{}, {}, {}]",
            dy.dims(),
            c.batch,
            c.steps,
            E::N
        )));
    }
    let mut g = dy.storage().clone();
    B::zero_padding(&mut g, &c.lengths, StepBatch { batch: c.batch, steps: c.steps, width: E::N });
    let mut dx = Tensor::from_parts(g, dy.shape());
    dx.lengths = c.kept.clone();
    Ok(dx)
}

impl<N: Dim, T: Dim, M: StaticDim, E: StaticDim, B: Backend> Layer<(N, T, E), B>
    for PositionEmbedding<M, E, B>
{
    type Output = (N, T, E);
    type Cache = PositionsCache;

    fn forward(&self, x: &Tensor<(N, T, E), B>) -> Tensor<(N, T, E), B> {
        self.forward_train_ref(x).0
    }

    fn forward_train(
        &mut self,
        x: &Tensor<(N, T, E), B>,
    ) -> (Tensor<(N, T, E), B>, PositionsCache) {
        self.forward_train_ref(x)
    }

    fn backward(
        &self,
        c: &PositionsCache,
        dy: &Tensor<(N, T, E), B>,
    ) -> Result<(Tensor<(N, T, E), B>, Self)> {
        let dx = pass_gradient("PositionEmbedding", c, dy)?;
        let mut weight = self.weight.zeros_like();
        B::scatter_add_rows(
            dx.storage(),
            &position_rows(c.batch, c.steps, M::N),
            weight.storage_mut(),
            E::N,
        );
        Ok((dx, PositionEmbedding { weight }))
    }
}

impl<M: StaticDim, E: StaticDim, B: Backend> PositionEmbedding<M, E, B> {
    /// The forward pass for steps at positions `start, start + 1, …` (decoding one step at a
    /// time after `start` earlier ones); `Err` past the table's `M` positions.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Init, Rng, Tensor};
    /// use shapeflow_core::layers::PositionEmbedding;
    /// use shapeflow_cpu::Cpu;
    /// use typenum::{U2, U8};
    /// let dev = Cpu::default();
    /// let pos = PositionEmbedding::<U8, U2, Cpu>::init(&dev, &mut Rng::new(0));
    /// let x = Tensor::<(Dyn, Dyn, U2), Cpu>::from_sequences(&dev, &[vec![0.0; 2]]).unwrap();
    /// assert_eq!(pos.forward_from(&x, 3).unwrap().to_vec(), pos.weight.to_vec()[6..8]);
    /// assert!(pos.forward_from(&x, 8).is_err());
    /// ```
    pub fn forward_from<N: Dim, T: Dim>(
        &self,
        x: &Tensor<(N, T, E), B>,
        start: usize,
    ) -> Result<Tensor<(N, T, E), B>> {
        let c = cache_of(x);
        if start + c.steps > M::N {
            return Err(Error::Shape(format!(
                "PositionEmbedding: positions {start}..{} asked of a table of {} positions",
                start + c.steps,
                M::N
            )));
        }
        let mut table = B::scratch_like(x.storage(), c.batch * c.steps * E::N);
        B::gather_rows(
            self.weight.storage(),
            &position_rows_from(c.batch, c.steps, start, M::N),
            &mut table,
            E::N,
        );
        Ok(add_rows(x, table, &c))
    }

    fn forward_train_ref<N: Dim, T: Dim>(
        &self,
        x: &Tensor<(N, T, E), B>,
    ) -> (Tensor<(N, T, E), B>, PositionsCache) {
        let c = cache_of(x);
        let mut table = B::scratch_like(x.storage(), c.batch * c.steps * E::N);
        B::gather_rows(
            self.weight.storage(),
            &position_rows(c.batch, c.steps, M::N),
            &mut table,
            E::N,
        );
        (add_rows(x, table, &c), c)
    }
}

/// The fixed encodings of Vaswani et al. added to each step: `y[b, t, 2i] = x + sin(t / 10000^(2i/E))`,
/// `y[b, t, 2i + 1] = x + cos(t / 10000^(2i/E))`. No parameters; any length.
///
/// ```
/// use shapeflow_core::{Dyn, Layer, Tensor};
/// use shapeflow_core::layers::SinusoidalPositions;
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let x = Tensor::<(Dyn, Dyn, typenum::U2), Cpu>::from_sequences(&dev, &[vec![0.0; 4]]).unwrap();
/// let y = SinusoidalPositions.forward(&x).to_vec();
/// assert_eq!(&y[..2], &[0.0, 1.0]); // sin 0, cos 0
/// assert!((y[2] - 1f32.sin()).abs() < 1e-6 && (y[3] - 1f32.cos()).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SinusoidalPositions;

crate::impl_module_without_params!(SinusoidalPositions);

impl<B: Backend> Init<B> for SinusoidalPositions {
    fn init(_: &B, _: &mut Rng) -> Self {
        SinusoidalPositions
    }
}

impl SinusoidalPositions {
    /// The table for `steps` positions of `width` features, every sample of `batch`.
    fn table<E: crate::Elem>(batch: usize, steps: usize, width: usize) -> Vec<E> {
        let mut row = vec![E::from_f64(0.0); steps * width];
        for t in 0..steps {
            for j in 0..width {
                let angle = t as f64 / 10000f64.powf((j - j % 2) as f64 / width as f64);
                row[t * width + j] =
                    E::from_f64(if j % 2 == 0 { angle.sin() } else { angle.cos() });
            }
        }
        row.repeat(batch)
    }
}

impl<N: Dim, T: Dim, E: StaticDim, B: Backend> Layer<(N, T, E), B> for SinusoidalPositions {
    type Output = (N, T, E);
    type Cache = PositionsCache;

    fn forward(&self, x: &Tensor<(N, T, E), B>) -> Tensor<(N, T, E), B> {
        let c = cache_of(x);
        let table = B::upload_like(x.storage(), &Self::table::<B::Elem>(c.batch, c.steps, E::N));
        add_rows(x, table, &c)
    }

    fn forward_train(
        &mut self,
        x: &Tensor<(N, T, E), B>,
    ) -> (Tensor<(N, T, E), B>, PositionsCache) {
        (Layer::<(N, T, E), B>::forward(self, x), cache_of(x))
    }

    fn backward(
        &self,
        c: &PositionsCache,
        dy: &Tensor<(N, T, E), B>,
    ) -> Result<(Tensor<(N, T, E), B>, Self)> {
        Ok((pass_gradient("SinusoidalPositions", c, dy)?, SinusoidalPositions))
    }
}
