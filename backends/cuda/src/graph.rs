//! `TrainGraph`: a classifier's training step (forward, cross-entropy, backward, optimizer
//! update) captured once as a CUDA graph and replayed, so each later step is one launch instead
//! of one per kernel. Shapes are static, as `model!` makes them, so one capture serves every
//! batch of the captured size.

use std::sync::Arc;

use cudarc::driver::{CudaSlice, DevicePtr, PinnedHostSlice};
use shapeflow_core::backend::Rows;
use shapeflow_core::dim::StaticDim;
use shapeflow_core::loss::check_labels;
use shapeflow_core::module::{StateMut, StateRef};
use shapeflow_core::optim::Optimizer;
use shapeflow_core::shape::Shape;
use shapeflow_core::{Dyn, Error, Layer, Module, Result, Tensor};

use crate::Cuda;
use crate::capture::Captured;
use crate::runtime::Runtime;
use crate::storage::CudaBuf;

/// A training step captured as a CUDA graph: cross-entropy on class labels, the model's
/// generated backward and `opt`'s update, replayed by [`TrainGraph::step`].
///
/// The first step runs eagerly (it fills the allocator's cache with every buffer the step
/// uses); the second is captured and launched; each later step of the same batch size copies
/// the batch into the graph's input buffers and launches the graph once. A batch of another
/// size (an epoch's last) runs eagerly, so any loop over a dataset works. Host-side state
/// stays as eager training leaves it: the optimizer's step count (Adam's bias corrections
/// follow it on the device) and counters such as batch norm's `num_batches_tracked`.
///
/// A step that cannot be replayed is refused when it is captured, with an `Err` that names
/// why (nothing of that step is applied): one that reads values back to the host or uploads
/// host data inside the step (sequence lengths), draws random numbers (dropout), replaces a
/// parameter buffer instead of updating it, or uses Adagrad's `lr_decay`. The learning rate is
/// the one at capture; [`TrainGraph::optimizer_mut`] recaptures after a change. A non-finite
/// loss is an `Err` as in eager training, but its step's update has been applied (the graph
/// runs as a whole).
///
/// ```no_run
/// use shapeflow::prelude::*;
/// use shapeflow::{Cuda, TrainGraph};
/// model! {
///     struct Net { input: [784], fc: Linear<784, 10> }
/// }
/// let gpu = Cuda::new(0)?;
/// let mut model = Net::<Cuda>::new(&gpu, 0);
/// let mut opt = Adam::new(&model, AdamConfig::default());
/// let mut graph = TrainGraph::new(&gpu, &mut model, &mut opt);
/// let x = Tensor::<(Dyn, Const<784>), Cuda>::rand_uniform(&gpu, &[64, 784], 0.0, 1.0, 1)?;
/// let labels: Vec<usize> = (0..64).map(|i| i % 10).collect();
/// for _ in 0..100 {
///     let loss = graph.step(&x, &labels)?; // eager, captured, then replayed
///     assert!(loss.is_finite());
/// }
/// assert!(graph.is_captured());
/// # Ok::<(), shapeflow::Error>(())
/// ```
pub struct TrainGraph<'a, M, O, S: Shape> {
    /// Declared first: dropped (after a synchronisation) before the model it writes into.
    captured: Option<Replay<S>>,
    model: &'a mut M,
    opt: &'a mut O,
    rt: Arc<Runtime>,
    eager_steps: u64,
    refused: Option<String>,
}

/// The captured graph, the buffers its nodes read and write, and what a replay adds to the
/// host-side counters.
struct Replay<S: Shape> {
    /// Declared first: destroyed before the buffers its nodes use.
    graph: Captured,
    io: Inputs<S>,
    /// How much one step adds to each of the model's counters (visit order).
    deltas: Vec<u64>,
    /// The optimizer's step count right after the capture (the captured step's own).
    captured_step: u64,
    launches: u64,
}

/// The graph's own input and output buffers: the batch and its labels are copied in before
/// each launch, each row's negative log-likelihood read back after it.
struct Inputs<S: Shape> {
    x: Tensor<S, Cuda>,
    labels: CudaSlice<i32>,
    per_row: CudaSlice<f64>,
    host_labels: PinnedHostSlice<i32>,
    host_offset: PinnedHostSlice<u32>,
    host_loss: PinnedHostSlice<f64>,
}

enum Next {
    Replay,
    Eager,
    Capture,
}

impl<'a, M, O, S, C> TrainGraph<'a, M, O, S>
where
    S: Shape,
    C: StaticDim,
    M: Layer<S, Cuda, Output = (Dyn, C)>,
    O: Optimizer<M>,
{
    /// A graph for training `model` with `opt` on `gpu`; nothing is captured until the second
    /// [`TrainGraph::step`]. The borrows keep the model's buffers where the graph writes them.
    pub fn new(gpu: &Cuda, model: &'a mut M, opt: &'a mut O) -> Self {
        TrainGraph { captured: None, model, opt, rt: gpu.rt.clone(), eager_steps: 0, refused: None }
    }

    /// One training step on `x` with class `labels`; returns the batch's mean cross-entropy.
    /// An `Err` for labels that do not fit, a non-finite loss, or (at the capture) a step that
    /// cannot be replayed.
    pub fn step(&mut self, x: &Tensor<S, Cuda>, labels: &[usize]) -> Result<f64> {
        check_labels(labels, x.batch(), C::N)?;
        if let Some(why) = &self.refused {
            return Err(Error::Unsupported(why.clone()));
        }
        let fits = |r: &Replay<S>| r.io.x.dims() == x.dims() && x.lengths().is_none();
        let next = match &self.captured {
            Some(r) if fits(r) => Next::Replay,
            Some(_) => Next::Eager,
            None if self.eager_steps == 0 || x.lengths().is_some() => Next::Eager,
            None => Next::Capture,
        };
        match next {
            Next::Replay => self.replay(x, labels),
            Next::Eager => self.eager(x, labels),
            Next::Capture => self.capture(x, labels),
        }
    }

    /// Whether the step has been captured (after the second [`TrainGraph::step`]).
    pub fn is_captured(&self) -> bool {
        self.captured.is_some()
    }

    /// The model, for evaluation between steps.
    pub fn model(&self) -> &M {
        self.model
    }

    /// The optimizer, to change its learning rate or other settings: the step is captured
    /// again at the next [`TrainGraph::step`], so the change applies.
    pub fn optimizer_mut(&mut self) -> &mut O {
        self.release();
        self.opt
    }

    /// Drops the captured graph (after waiting for its last launch).
    fn release(&mut self) {
        if self.captured.is_some() {
            let _ = self.rt.stream.synchronize();
            self.captured = None;
        }
    }

    fn eager(&mut self, x: &Tensor<S, Cuda>, labels: &[usize]) -> Result<f64> {
        let (logits, cache) = self.model.forward_train(x);
        let (loss, dy) = shapeflow_core::loss::cross_entropy(&logits, labels)?;
        drop(logits);
        let grads = self.model.backward_params(&cache, &dy)?;
        self.opt.step(self.model, &grads)?;
        self.eager_steps += 1;
        Ok(loss)
    }

    /// Captures the step on `x`, then launches it (the capture itself runs nothing).
    fn capture(&mut self, x: &Tensor<S, Cuda>, labels: &[usize]) -> Result<f64> {
        let rows = x.batch();
        let rt = self.rt.clone();
        let alloc = |e: cudarc::driver::DriverError| Error::Backend(format!("cudaMalloc: {e}"));
        let pinned = |e: cudarc::driver::DriverError| Error::Backend(format!("cudaHostAlloc: {e}"));
        let input = CudaBuf {
            data: Some(rt.stream.alloc_zeros::<f32>(x.len().max(1)).map_err(alloc)?),
            len: x.len(),
            rt: rt.clone(),
        };
        let ctx = rt.stream.context();
        // SAFETY: page-locked host memory, written only after waiting on its last copy's event
        // (`as_mut_slice`) and read only after that of the copy into it (`as_slice`).
        let (host_labels, host_offset, host_loss) = unsafe {
            (
                ctx.alloc_pinned::<i32>(rows.max(1)).map_err(pinned)?,
                ctx.alloc_pinned::<u32>(1).map_err(pinned)?,
                ctx.alloc_pinned::<f64>(rows.max(1)).map_err(pinned)?,
            )
        };
        let mut io = Inputs {
            x: Tensor::from_storage(input, x.dims())?,
            labels: rt.stream.alloc_zeros::<i32>(rows.max(1)).map_err(alloc)?,
            per_row: rt.stream.alloc_zeros::<f64>(rows.max(1)).map_err(alloc)?,
            host_labels,
            host_offset,
            host_loss,
        };
        io.load(&rt, x, labels)?;
        let (steps, counts, draws_before, buffers) =
            (self.opt.steps(), counters(self.model), draws(self.model), addresses(&rt, self.model));
        if let Some(e) = rt.take_error() {
            return Err(Error::Backend(format!("an earlier CUDA operation failed: {e}")));
        }
        rt.begin_capture().map_err(Error::Backend)?;
        let body = captured_body(self.model, self.opt, &io);
        let ended = rt.end_capture();
        let after = counters(self.model);
        let graph = match (body, ended) {
            (Err(e), _) => Err(format!("the step failed while it was captured: {e}")),
            (Ok(()), Err(why)) => Err(why),
            (Ok(()), Ok(graph)) if draws(self.model) != draws_before => {
                drop(graph);
                Err("it draws random numbers (dropout): a replay would repeat the captured masks"
                    .into())
            }
            (Ok(()), Ok(graph)) => match replaced(&buffers, &addresses(&rt, self.model)) {
                Some(why) => Err(why),
                None => Ok(graph),
            },
        };
        let graph = match graph {
            Ok(g) => g,
            Err(why) => {
                // Nothing of the step ran: put the host-side counts back.
                set_counters(self.model, &counts);
                self.opt.set_steps(steps);
                let why = format!(
                    "this training step cannot be replayed as a CUDA graph: {why}; train it eagerly"
                );
                self.refused = Some(why.clone());
                return Err(Error::Unsupported(why));
            }
        };
        let deltas = after.iter().zip(&counts).map(|(a, b)| a.wrapping_sub(*b)).collect();
        let mut replay = Replay { graph, io, deltas, captured_step: self.opt.steps(), launches: 0 };
        let loss = replay.launch(&rt, 0);
        self.captured = Some(replay);
        loss
    }

    fn replay(&mut self, x: &Tensor<S, Cuda>, labels: &[usize]) -> Result<f64> {
        let rt = self.rt.clone();
        let Some(replay) = self.captured.as_mut() else {
            return self.eager(x, labels);
        };
        replay.io.load(&rt, x, labels)?;
        let next = self.opt.steps() + 1;
        let offset = u32::try_from(next - replay.captured_step).map_err(|_| {
            Error::Unsupported("more than 2^32 replays of one CUDA graph: create a new one".into())
        })?;
        let loss = replay.launch(&rt, offset);
        // The step ran on the device: count it on the host as eager training would.
        let mut counts = counters(self.model);
        for (c, d) in counts.iter_mut().zip(&replay.deltas) {
            *c = c.wrapping_add(*d);
        }
        set_counters(self.model, &counts);
        self.opt.set_steps(next);
        loss
    }
}

impl<M, O, S: Shape> Drop for TrainGraph<'_, M, O, S> {
    fn drop(&mut self) {
        // The graph's last launch may still be running; its buffers are freed after this.
        if self.captured.is_some() {
            let _ = self.rt.stream.synchronize();
        }
    }
}

impl<S: Shape> Inputs<S> {
    /// Copies the batch and its labels into the graph's input buffers (stream-ordered before
    /// the next launch).
    fn load(&mut self, rt: &Runtime, x: &Tensor<S, Cuda>, labels: &[usize]) -> Result<()> {
        let copy = |e: cudarc::driver::DriverError| Error::Backend(format!("device copy: {e}"));
        let (Some(src), Some(dst)) =
            (x.storage().data.as_ref(), self.x.storage_mut().data.as_mut())
        else {
            return Err(Error::Backend(
                "the batch's device buffer is missing (an earlier CUDA failure; see Cuda::check)"
                    .into(),
            ));
        };
        rt.stream.memcpy_dtod(src, dst).map_err(copy)?;
        let host = self.host_labels.as_mut_slice().map_err(copy)?;
        for (h, &l) in host.iter_mut().zip(labels) {
            // `check_labels` bounded every label by the class count, a `usize` const generic
            // that fits the kernels' `int` (they index rows of that many logits).
            *h = i32::try_from(l).unwrap_or(i32::MAX);
        }
        rt.stream.memcpy_htod(&self.host_labels, &mut self.labels).map_err(copy)
    }
}

impl<S: Shape> Replay<S> {
    /// Launches the graph with step `offset` and returns the batch's mean loss.
    fn launch(&mut self, rt: &Runtime, offset: u32) -> Result<f64> {
        let failed = |e: cudarc::driver::DriverError| Error::Backend(format!("CUDA graph: {e}"));
        let io = &mut self.io;
        io.host_offset.as_mut_slice().map_err(failed)?[0] = offset;
        rt.stream.memcpy_htod(&io.host_offset, &mut self.graph.offset).map_err(failed)?;
        self.graph.graph.launch().map_err(failed)?;
        self.launches += 1;
        rt.stream.memcpy_dtoh(&io.per_row, &mut io.host_loss).map_err(failed)?;
        let rows = io.x.batch().max(1);
        let per_row = io.host_loss.as_slice().map_err(failed)?;
        let loss = per_row[..rows].iter().sum::<f64>() / rows as f64;
        if let Some(e) = rt.take_error() {
            return Err(Error::Backend(e));
        }
        if loss.is_finite() {
            Ok(loss)
        } else {
            Err(Error::NonFinite(format!(
                "cross-entropy loss is {loss} (CUDA graph replay {}); check the learning rate and the inputs",
                self.launches
            )))
        }
    }
}

/// What the capture records: the forward pass on the graph's input, the loss into its
/// per-row buffer and gradient from its labels, the backward pass and the update.
fn captured_body<S, C, M, O>(model: &mut M, opt: &mut O, r: &Inputs<S>) -> Result<()>
where
    S: Shape,
    C: StaticDim,
    M: Layer<S, Cuda, Output = (Dyn, C)>,
    O: Optimizer<M>,
{
    let (logits, cache) = model.forward_train(&r.x);
    let (rows, classes) = (logits.batch(), C::N);
    let rt = r.x.storage().rt.clone();
    let mut logp = CudaBuf::scratch(&rt, rows * classes);
    <Cuda as Rows>::log_softmax_rows(logits.storage(), &mut logp, rows, classes);
    let mut grad = CudaBuf::scratch(&rt, rows * classes);
    crate::rows::nll_rows(&logp, &r.labels, &r.per_row, rows, classes);
    let scale = 1.0f32 / rows.max(1) as f32;
    crate::rows::softmax_minus_onehot_rows(&logp, &r.labels, &mut grad, rows, classes, scale);
    drop(logp);
    let dy = Tensor::from_storage(grad, logits.dims())?;
    drop(logits);
    let grads = model.backward_params(&cache, &dy)?;
    drop((cache, dy));
    opt.step(model, &grads)
}

/// The model's counters (`num_batches_tracked`), in visit order.
fn counters<M: Module<Cuda>>(model: &M) -> Vec<u64> {
    let mut out = Vec::new();
    model.visit_state(&mut String::new(), &mut |_, e| {
        if let StateRef::Count(c) = e {
            out.push(c);
        }
    });
    out
}

fn set_counters<M: Module<Cuda>>(model: &mut M, values: &[u64]) {
    let mut values = values.iter();
    model.visit_state_mut(&mut String::new(), &mut |_, e| {
        if let (StateMut::Count(c), Some(v)) = (e, values.next()) {
            *c = *v;
        }
    });
}

/// The model's random-number counters (dropout), in visit order.
fn draws<M: Module<Cuda>>(model: &mut M) -> Vec<u64> {
    let mut out = Vec::new();
    model.visit_rng(&mut String::new(), &mut |_, c| out.push(*c));
    out
}

/// Each state tensor's name and device address.
fn addresses<M: Module<Cuda>>(rt: &Runtime, model: &M) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    model.visit_state(&mut String::new(), &mut |name, e| {
        if let StateRef::Tensor(_, buf) = e {
            let ptr = buf.data.as_ref().map_or(0, |d| d.device_ptr(&rt.stream).0);
            out.push((name.to_string(), ptr));
        }
    });
    out
}

/// The first state tensor whose buffer the step replaced, as a refusal.
fn replaced(before: &[(String, u64)], after: &[(String, u64)]) -> Option<String> {
    before.iter().zip(after).find(|(b, a)| b.1 != a.1).map(|(b, _)| {
        format!(
            "`{}` was replaced by a new buffer during the step instead of updated in place",
            b.0
        )
    })
}
