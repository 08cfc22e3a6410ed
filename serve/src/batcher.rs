//! The inference thread: it owns the model, takes requests from a bounded queue, merges those
//! that arrive together into one forward pass (dynamic batching) and answers each with its rows.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::metrics::Metrics;
use crate::servable::Servable;

/// How requests are merged into forward passes.
///
/// ```
/// let b = shapeflow_serve::Batching::default();
/// assert_eq!((b.max_batch, b.max_wait.as_micros()), (64, 2000));
/// let off = shapeflow_serve::Batching::off();
/// assert_eq!(off.max_batch, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batching {
    /// The most samples one forward pass takes (a larger request runs in several passes).
    pub max_batch: usize,
    /// How long the first request of a batch waits for others to join it.
    pub max_wait: Duration,
}

impl Default for Batching {
    fn default() -> Self {
        Self { max_batch: 64, max_wait: Duration::from_millis(2) }
    }
}

impl Batching {
    /// No merging: every request is its own forward pass.
    pub fn off() -> Self {
        Self { max_batch: 1, max_wait: Duration::ZERO }
    }
}

/// One request's samples and where its answer goes.
pub(crate) struct Job {
    pub values: Vec<f32>,
    pub batch: usize,
    pub reply: oneshot::Sender<Result<Vec<f32>, Failed>>,
}

/// Why a queued job got no outputs.
#[derive(Clone, Debug)]
pub(crate) enum Failed {
    /// The forward pass failed or panicked (the server's fault).
    Model(String),
    /// An instance's output is NaN or infinite (its values drove the model there).
    NonFinite(String),
    /// A request's values the model cannot take (`Servable::check`).
    Input(String),
}

/// Why a job was not queued.
pub(crate) enum Rejected {
    /// The queue is full.
    Busy,
    /// The inference thread has stopped.
    Stopped,
}

/// The queue's sending end and the thread behind it.
pub(crate) struct Batcher {
    tx: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Batcher {
    /// Starts the inference thread for `model`, with a queue of `capacity` requests.
    pub fn start(
        model: Box<dyn Servable>,
        batching: Batching,
        capacity: usize,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(capacity.max(1));
        let thread = std::thread::Builder::new()
            .name("shapeflow-serve-inference".into())
            .spawn(move || run(model.as_ref(), &rx, batching, &metrics))?;
        Ok(Self { tx: Some(tx), thread: Some(thread) })
    }

    /// Queues `job` without waiting.
    pub fn submit(&self, job: Job) -> Result<(), Rejected> {
        let tx = self.tx.as_ref().ok_or(Rejected::Stopped)?;
        tx.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => Rejected::Busy,
            TrySendError::Disconnected(_) => Rejected::Stopped,
        })
    }

    /// Closes the queue and waits until every queued request has been answered.
    pub fn stop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A request being answered: its job, the rows done and their outputs.
struct Work {
    job: Job,
    done: usize,
    out: Vec<f32>,
}

/// The thread's loop: until the queue closes and every request is answered, run forward
/// passes of at most `max_batch` samples. A pass takes the waiting requests in order, a
/// request larger than what is left of the pass giving only a slice; a request that still has
/// rows to run goes behind those that arrived meanwhile, so a small request waits for at most
/// one slice of a large one, however large.
fn run(model: &dyn Servable, rx: &Receiver<Job>, b: Batching, metrics: &Metrics) {
    let (per_in, per_out) = (numel(model.input_dims()), numel(model.output_dims()));
    let max_batch = b.max_batch.max(1);
    let mut queue: VecDeque<Work> = VecDeque::new();
    loop {
        if queue.is_empty() {
            // Idle: wait for a request, then up to `max_wait` for others to join its pass.
            let Ok(job) = rx.recv() else { return };
            admit(model, job, &mut queue);
            let deadline = Instant::now() + b.max_wait;
            while rows(&queue) < max_batch {
                let left = deadline.saturating_duration_since(Instant::now());
                let next =
                    if left.is_zero() { rx.try_recv().ok() } else { rx.recv_timeout(left).ok() };
                match next {
                    Some(job) => admit(model, job, &mut queue),
                    None => break,
                }
            }
            if queue.is_empty() {
                continue; // every request was refused by the model's check
            }
        }
        // One pass over the front of the queue.
        let (mut values, mut parts) = (Vec::new(), Vec::new());
        for (i, w) in queue.iter().enumerate() {
            let n = (w.job.batch - w.done).min(max_batch - values.len() / per_in);
            if n == 0 {
                break;
            }
            values.extend_from_slice(&w.job.values[w.done * per_in..(w.done + n) * per_in]);
            parts.push((i, n));
        }
        let n = values.len() / per_in;
        metrics.record_batch(n);
        let outcome = match catch_unwind(AssertUnwindSafe(|| model.predict(&values, n))) {
            Ok(Ok(out)) if out.len() == n * per_out => Ok(out),
            Ok(Ok(out)) => Err(Failed::Model(format!(
                "the model gave {} values for {n} samples of {per_out}",
                out.len()
            ))),
            Ok(Err(e)) => Err(Failed::Model(format!("the model failed on this batch: {e}"))),
            Err(_) => {
                Err(Failed::Model("the model's forward pass panicked on this batch".to_string()))
            }
        };
        let taken = parts.len();
        match outcome {
            Ok(out) => {
                let mut at = 0;
                for &(i, n) in &parts {
                    let w = &mut queue[i];
                    w.out.extend_from_slice(&out[at..at + n * per_out]);
                    w.done += n;
                    at += n * per_out;
                }
            }
            Err(failure) => {
                for w in queue.drain(..taken) {
                    let _ = w.job.reply.send(Err(failure.clone()));
                }
                continue;
            }
        }
        // Answer the finished requests; one cut short by the pass goes behind what arrived.
        let mut unfinished = None;
        for w in queue.drain(..taken) {
            if w.done == w.job.batch {
                let _ = w.job.reply.send(finite(&w.out, per_out));
            } else {
                unfinished = Some(w);
            }
        }
        while let Ok(job) = rx.try_recv() {
            admit(model, job, &mut queue);
        }
        queue.extend(unfinished);
    }
}

/// Queues `job` for the passes, or answers it at once when the model cannot take its values.
fn admit(model: &dyn Servable, job: Job, queue: &mut VecDeque<Work>) {
    if job.batch == 0 {
        let _ = job.reply.send(Ok(Vec::new()));
        return;
    }
    match catch_unwind(AssertUnwindSafe(|| model.check(&job.values, job.batch))) {
        Ok(Ok(())) => {
            let out = Vec::with_capacity(job.batch * numel(model.output_dims()));
            queue.push_back(Work { job, done: 0, out });
        }
        Ok(Err(e)) => {
            let _ = job.reply.send(Err(Failed::Input(e.to_string())));
        }
        Err(_) => {
            let failed = Failed::Model("the model's input check panicked".to_string());
            let _ = job.reply.send(Err(failed));
        }
    }
}

/// Samples waiting in `queue`.
fn rows(queue: &VecDeque<Work>) -> usize {
    queue.iter().map(|w| w.job.batch - w.done).sum()
}

fn numel(dims: &[usize]) -> usize {
    dims.iter().product::<usize>().max(1)
}

/// One request's outputs, or which of its instances has a non-finite output.
fn finite(out: &[f32], per: usize) -> Result<Vec<f32>, Failed> {
    match out.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(Failed::NonFinite(format!(
            "the model's output for instance {} is not finite ({}): check that instance's values",
            i / per.max(1),
            out[i]
        ))),
        None => Ok(out.to_vec()),
    }
}
