//! Data-parallel training over a [`Collective`]: parameters broadcast from rank 0, each rank's
//! shard of every global batch, gradients averaged in buckets started while backward runs.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::collective::{Collective, Pending, Values};
use crate::backend::{Backend, Elem};
use crate::data::Batch;
use crate::error::{Error, Result};
use crate::layer::Layer;
use crate::module::{Module, Params, StateMut};
use crate::tensor::Tensor;

/// Bytes of gradient gathered before a bucket's all-reduce starts (PyTorch's DDP starts its
/// first bucket at 1 MiB too).
pub const DEFAULT_BUCKET_BYTES: usize = 1 << 20;

/// A data-parallel group: this process's rank, the engine, and the operations a training loop
/// needs. Cloning shares the engine. [`FitConfig::parallel`](crate::fit::FitConfig) takes one;
/// a hand-written loop calls [`DataParallel::broadcast_model`] once, then for every global
/// batch [`DataParallel::shard`], its own forward pass and loss, [`DataParallel::check_loss`]
/// and [`DataParallel::backward`].
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, data::Dataset, layers::Linear, loss::cross_entropy};
/// use shapeflow_core::distributed::{DataParallel, Local};
/// use shapeflow_core::optim::{Optimizer, Sgd, SgdConfig};
/// use shapeflow_cpu::Cpu;
/// use typenum::U2;
/// let dev = Cpu::default();
/// let dp = DataParallel::new(Local);
/// let mut model = Linear::<U2, U2, Cpu>::init(&dev, &mut Rng::new(0));
/// dp.broadcast_model(&mut model).unwrap();
/// let mut opt = Sgd::new(&model, SgdConfig { lr: 0.1, ..Default::default() });
/// let data = Dataset::new(vec![1.0, 0.0, 0.0, 1.0], vec![0, 1], 2).unwrap();
/// for global in data.batches(2 * dp.world(), &mut Rng::new(1)) {
///     let shard = dp.shard(&global);
///     let x = shard.batch.inputs_tensor::<(Dyn, U2), Cpu>(&dev).unwrap();
///     let (y, cache) = model.forward_train(&x);
///     let (loss, dy) = cross_entropy(&y, &shard.batch.labels[..]).unwrap();
///     let global_loss = dp.check_loss(Ok(loss), &shard).unwrap();
///     assert!(global_loss > 0.0);
///     let grads = dp.backward(&model, &cache, &dy, &shard).unwrap();
///     opt.step(&mut model, &grads).unwrap();
/// }
/// ```
#[derive(Clone)]
pub struct DataParallel {
    engine: Arc<dyn Collective>,
    bucket_bytes: usize,
    stats: Arc<Mutex<Stats>>,
}

/// What the gradient all-reduces of [`DataParallel::backward`] cost so far on this rank.
///
/// ```
/// let s = shapeflow_core::distributed::Stats::default();
/// assert_eq!(s.steps, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// Backward passes whose gradients were averaged.
    pub steps: u64,
    /// Gradient bytes this rank sent into all-reduces.
    pub bytes: u64,
    /// Buckets (all-reduce operations) started.
    pub buckets: u64,
    /// Seconds spent after the backward pass waiting for the buckets and writing the averaged
    /// gradients back: the communication that did not overlap computation.
    pub wait_s: f64,
    /// Seconds of the backward passes themselves, copies into buckets included.
    pub backward_s: f64,
}

impl fmt::Debug for DataParallel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DataParallel {{ engine: {}, rank: {}, world: {} }}",
            self.engine.engine(),
            self.rank(),
            self.world()
        )
    }
}

/// This rank's part of a global batch, from [`DataParallel::shard`].
#[derive(Clone, Debug)]
pub struct Shard {
    /// The samples this rank computes.
    pub batch: Batch,
    /// Rows (labels) this rank's loss averages over; 0 when the global batch had fewer samples
    /// than ranks and this rank computes a stand-in sample whose gradient is not counted.
    pub weight: usize,
    /// Rows of the whole global batch.
    pub total: usize,
}

impl DataParallel {
    /// A group over `engine`.
    pub fn new(engine: impl Collective + 'static) -> Self {
        DataParallel {
            engine: Arc::new(engine),
            bucket_bytes: DEFAULT_BUCKET_BYTES,
            stats: Arc::default(),
        }
    }

    /// Starts each gradient all-reduce once `bytes` of gradients are gathered (default 1 MiB);
    /// smaller buckets overlap more of backward, larger ones send fewer messages.
    pub fn with_bucket_bytes(mut self, bytes: usize) -> Self {
        self.bucket_bytes = bytes.max(1);
        self
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.engine.rank()
    }
    /// Number of ranks.
    pub fn world(&self) -> usize {
        self.engine.world()
    }
    /// Whether this is rank 0, the one that prints and writes files.
    pub fn is_main(&self) -> bool {
        self.rank() == 0
    }
    /// What gradient averaging has cost on this rank so far.
    pub fn stats(&self) -> Stats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// The engine.
    pub fn engine(&self) -> &dyn Collective {
        &*self.engine
    }

    /// Copies rank 0's parameters, buffers (batch-norm statistics) and dropout counters to
    /// every rank, then moves each rank's dropout counters to a stream of its own (`rank << 40`
    /// calls ahead), so ranks draw independent masks for their shards. Call it once, before
    /// training. It first compares the ranks' models ([`model_fields`](super::model_fields)):
    /// different element types, tensor names or shapes are the same `Err` on every rank.
    pub fn broadcast_model<M: Module<B>, B: Backend>(&self, model: &mut M) -> Result<()> {
        if self.world() == 1 {
            return Ok(());
        }
        // Ranks holding different models (or element types) stop here with the same `Err`,
        // before buffers of different sizes could meet in a collective.
        self.agree_to_start(true, &super::model_fields::<M, B>(model))?;
        self.broadcast_state(model, false)?;
        let mut counters = Vec::new();
        model.visit_rng(&mut String::new(), &mut |_, c| counters.push(*c as f64));
        let counters = f64s(self.engine.broadcast(Values::F64(counters), 0).wait()?)?;
        let (mut i, offset) = (0usize, (self.rank() as u64) << 40);
        model.visit_rng(&mut String::new(), &mut |_, c| {
            *c = (counters[i] as u64).wrapping_add(offset);
            i += 1;
        });
        Ok(())
    }

    /// Copies rank 0's buffers (batch-norm running statistics, not parameters) to every rank:
    /// each rank's statistics follow its own shards during an epoch (as in PyTorch's DDP
    /// without SyncBatchNorm); `fit` calls this before validating and saving, so every rank
    /// evaluates the model rank 0 saves. Nothing is sent for a model without buffers.
    pub fn broadcast_buffers<M: Module<B>, B: Backend>(&self, model: &mut M) -> Result<()> {
        if self.world() == 1 {
            return Ok(());
        }
        self.broadcast_state(model, true)
    }

    /// Broadcasts the state dict from rank 0: every entry, or only those that are not
    /// parameters.
    fn broadcast_state<M: Module<B>, B: Backend>(
        &self,
        model: &mut M,
        buffers_only: bool,
    ) -> Result<()> {
        let params: std::collections::HashSet<String> = if buffers_only {
            model.param_names().into_iter().collect()
        } else {
            Default::default()
        };
        let take = |name: &str| !params.contains(name);
        let mut values: Vec<B::Elem> = Vec::new();
        let mut counts: Vec<f64> = Vec::new();
        model.visit_state(&mut String::new(), &mut |name, e| match e {
            crate::module::StateRef::Tensor(_, s) if take(name) => values.extend(B::to_host(s)),
            crate::module::StateRef::Tensor(..) => {}
            crate::module::StateRef::Count(c) => counts.push(c as f64),
        });
        if values.is_empty() && counts.is_empty() {
            return Ok(());
        }
        let values = <B::Elem as Elem>::from_values(
            self.engine.broadcast(<B::Elem as Elem>::into_values(values), 0).wait()?,
        )
        .ok_or_else(|| wrong_type("broadcast of the model"))?;
        let counts = f64s(self.engine.broadcast(Values::F64(counts), 0).wait()?)?;
        let (mut at, mut c) = (0usize, 0usize);
        model.visit_state_mut(&mut String::new(), &mut |name, e| match e {
            StateMut::Tensor(_, s) if take(name) => {
                let n = B::len(s);
                *s = B::upload_like(s, &values[at..at + n]);
                at += n;
            }
            StateMut::Tensor(..) => {}
            StateMut::Count(v) => {
                *v = counts[c] as u64;
                c += 1;
            }
        });
        Ok(())
    }

    /// This rank's shard of `global` (every rank holds the same global batch): a contiguous,
    /// even split of its samples. With fewer samples than ranks, a rank without one computes
    /// the first sample with weight 0, so every rank still takes part in the all-reduce.
    pub fn shard(&self, global: &Batch) -> Shard {
        let total = global.len();
        match global.shard(self.rank(), self.world()) {
            Some(batch) => Shard { weight: batch.len(), batch, total },
            None => Shard {
                batch: global.shard(0, global.samples().max(1)).unwrap_or_else(|| global.clone()),
                weight: 0,
                total,
            },
        }
    }

    /// Sums `values` over the ranks, in place.
    pub fn sum(&self, values: &mut [f64]) -> Result<()> {
        if self.world() == 1 {
            return Ok(());
        }
        let summed = f64s(self.engine.all_reduce_sum(Values::F64(values.to_vec())).wait()?)?;
        if summed.len() != values.len() {
            return Err(wrong_type("sum"));
        }
        values.copy_from_slice(&summed);
        Ok(())
    }

    /// Sends rank 0's bytes (a file it read, or its error reading it) to every rank; the other
    /// ranks' `mine` is ignored. Rank 0's error comes back on every rank.
    pub fn broadcast_file(&self, mine: Result<Option<Vec<u8>>>) -> Result<Option<Vec<u8>>> {
        if self.world() == 1 {
            return mine;
        }
        let main = self.is_main();
        let (status, payload, error) = match (main, mine) {
            (false, _) => (0.0, Vec::new(), None),
            (true, Ok(None)) => (0.0, Vec::new(), None),
            (true, Ok(Some(bytes))) => (1.0, bytes, None),
            (true, Err(e)) => (2.0, e.to_string().into_bytes(), Some(e)),
        };
        let header = vec![status, payload.len() as f64];
        let header = f64s(self.engine.broadcast(Values::F64(header), 0).wait()?)?;
        let (status, len) = (header[0], header[1] as usize);
        let payload = if main { payload } else { vec![0; len] };
        let payload = match self.engine.broadcast(Values::U8(payload), 0).wait()? {
            Values::U8(b) if b.len() == len => b,
            _ => return Err(wrong_type("broadcast of a file")),
        };
        match (status as u8, error) {
            (0, _) => Ok(None),
            (1, _) => Ok(Some(payload)),
            (_, Some(e)) => Err(e),
            (_, None) => Err(Error::Distributed(format!(
                "rank 0 failed: {}",
                String::from_utf8_lossy(&payload)
            ))),
        }
    }

    /// Every rank's outcome of its loss, agreed: the global batch's mean loss when every rank's
    /// loss is finite; otherwise the same `Err` on every rank, naming the ranks whose loss was
    /// not finite or failed, so no rank is left waiting for another at the next all-reduce.
    /// Pass this rank's loss (a mean over its shard) or its error.
    pub fn check_loss(&self, local: Result<f64>, shard: &Shard) -> Result<f64> {
        let (local, value) = match local {
            Ok(l) if !l.is_finite() => (Err(Error::NonFinite(format!("loss is {l}"))), 0.0),
            Ok(l) => (Ok(()), l * shard.weight as f64),
            Err(e) => (Err(e), 0.0),
        };
        let sums = self.agree(local, vec![value])?;
        Ok(sums[0] / shard.total.max(1) as f64)
    }

    /// Sums `values` over the ranks once every rank's `local` outcome is known: the sums when
    /// all are `Ok`, else the same failure everywhere (this rank's own error where it failed,
    /// the failed ranks named elsewhere).
    pub(crate) fn agree(&self, local: Result<()>, values: Vec<f64>) -> Result<Vec<f64>> {
        let world = self.world();
        let mut row = vec![0.0; world];
        if let Err(e) = &local {
            row[self.rank()] = if matches!(e, Error::NonFinite(_)) { 1.0 } else { 2.0 };
        }
        row.extend(values);
        if let Err(e) = self.sum(&mut row) {
            // This rank's own failure (a collective that timed out) says more than the sum's.
            return Err(local.err().unwrap_or(e));
        }
        let failed: Vec<usize> = (0..world).filter(|&r| row[r] != 0.0).collect();
        if failed.is_empty() {
            return Ok(row.split_off(world));
        }
        if let Err(e) = local {
            return Err(match e {
                Error::NonFinite(m) => Error::NonFinite(format!("rank {}: {m}", self.rank())),
                other => other,
            });
        }
        let list = |code: f64| -> String {
            let ranks: Vec<String> =
                failed.iter().filter(|&&r| row[r] == code).map(|r| r.to_string()).collect();
            ranks.join(", ")
        };
        if failed.iter().all(|&r| row[r] == 1.0) {
            Err(Error::NonFinite(format!(
                "the loss is not finite on rank {} (which printed its value); every rank stops",
                list(1.0)
            )))
        } else {
            let names = failed
                .iter()
                .map(|&r| {
                    let what = if row[r] == 1.0 { "its loss is not finite" } else { "it failed" };
                    format!("rank {r} ({what})")
                })
                .collect::<Vec<_>>()
                .join(", ");
            Err(Error::Distributed(format!(
                "{names}; every rank stops here (the failed rank printed its error)"
            )))
        }
    }

    /// The gradients of every parameter averaged over the global batch: this rank's backward
    /// pass ([`Layer::backward_params_ready`]), each layer's gradients weighted by the rows it
    /// computed and gathered into buckets whose all-reduce starts while the layers before it
    /// are still being differentiated. Equal (to rounding) to the gradient one process would
    /// compute on the whole global batch. The backward pass runs on the backend's workers
    /// ([`Device::on_workers`](crate::backend::Device::on_workers)) and the waits outside them:
    /// call this (and the other collectives) outside `on_workers`, since ranks that are
    /// threads of one process share those workers.
    pub fn backward<M, S, B>(
        &self,
        model: &M,
        cache: &M::Cache,
        dy: &Tensor<M::Output, B>,
        shard: &Shard,
    ) -> Result<M>
    where
        M: Layer<S, B> + Send + Sync,
        M::Cache: Sync,
        S: crate::shape::Shape,
        B: Backend,
    {
        if self.world() == 1 {
            let start = Instant::now();
            let grads = B::on_workers(|| model.backward_params(cache, dy));
            if let Ok(mut st) = self.stats.lock() {
                st.steps += 1;
                st.backward_s += start.elapsed().as_secs_f64();
            }
            return grads;
        }
        let scale = shard.weight as f64 / shard.total.max(1) as f64;
        let mut buckets = Buckets::<B>::new(&*self.engine, self.bucket_bytes, scale);
        let start = Instant::now();
        let grads = B::on_workers(|| {
            model.backward_params_ready(cache, dy, &mut |part, g| buckets.add(part, g))
        });
        let backward_s = start.elapsed().as_secs_f64();
        let bytes: usize = buckets.places.iter().map(|p| p.3 * <B::Elem as Elem>::BYTES).sum();
        let count = buckets.pending.len() + usize::from(!buckets.current.is_empty());
        // Every started bucket is waited for, even when backward failed, so no all-reduce is
        // left half done.
        let summed = buckets.finish();
        let mut grads = grads?;
        let summed = summed?;
        let mut missing = None;
        grads.visit_params_mut(&mut String::new(), &mut |name, _, s| match summed.get(name) {
            Some(v) if v.len() == B::len(s) => *s = B::upload_like(s, v),
            _ => {
                missing.get_or_insert_with(|| name.to_string());
            }
        });
        if let Ok(mut st) = self.stats.lock() {
            st.steps += 1;
            st.bytes += bytes as u64;
            st.buckets += count as u64;
            st.backward_s += backward_s;
            st.wait_s += start.elapsed().as_secs_f64() - backward_s;
        }
        if let Some(name) = missing {
            return Err(Error::Distributed(format!(
                "the gradient of `{name}` was not handed over by backward_params_ready \
                 (a custom layer that overrides it must report every part)"
            )));
        }
        Ok(grads)
    }
}

/// Gradients gathered in the order backward finishes them, sent a bucket at a time.
struct Buckets<'a, B: Backend> {
    engine: &'a dyn Collective,
    bytes: usize,
    scale: B::Elem,
    current: Vec<B::Elem>,
    /// Each parameter's bucket, offset and length.
    places: Vec<(String, usize, usize, usize)>,
    pending: Vec<Pending>,
}

impl<'a, B: Backend> Buckets<'a, B> {
    fn new(engine: &'a dyn Collective, bytes: usize, scale: f64) -> Self {
        Buckets {
            engine,
            bytes,
            scale: B::Elem::from_f64(scale),
            current: Vec::new(),
            places: Vec::new(),
            pending: Vec::new(),
        }
    }

    fn add(&mut self, part: &str, grads: &dyn Params<B>) {
        grads.visit(&mut part.to_string(), &mut |name, _, s| {
            let host = B::to_host(s);
            self.places.push((
                name.to_string(),
                self.pending.len(),
                self.current.len(),
                host.len(),
            ));
            let scale = self.scale;
            self.current.extend(host.into_iter().map(|v| v * scale));
            if self.current.len() * <B::Elem as Elem>::BYTES >= self.bytes {
                self.flush();
            }
        });
    }

    fn flush(&mut self) {
        if !self.current.is_empty() {
            let bucket = std::mem::take(&mut self.current);
            self.pending.push(self.engine.all_reduce_sum(<B::Elem as Elem>::into_values(bucket)));
        }
    }

    /// Waits for every bucket; each parameter's summed gradient by name.
    fn finish(mut self) -> Result<HashMap<String, Vec<B::Elem>>> {
        self.flush();
        let mut sums = Vec::with_capacity(self.pending.len());
        let mut first_error = None;
        for p in self.pending {
            match p.wait() {
                Ok(v) => sums.push(<B::Elem as Elem>::from_values(v)),
                Err(e) => {
                    first_error.get_or_insert(e);
                    sums.push(None);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let mut out = HashMap::with_capacity(self.places.len());
        for (name, bucket, at, len) in self.places {
            let values = sums[bucket].as_ref().ok_or_else(|| wrong_type("gradient all-reduce"))?;
            let part = values.get(at..at + len).ok_or_else(|| wrong_type("gradient all-reduce"))?;
            out.insert(name, part.to_vec());
        }
        Ok(out)
    }
}

fn wrong_type(what: &str) -> Error {
    Error::Distributed(format!("{what}: the engine returned values of another type or length"))
}

fn f64s(v: Values) -> Result<Vec<f64>> {
    match v {
        Values::F64(v) => Ok(v),
        _ => Err(wrong_type("sum")),
    }
}
