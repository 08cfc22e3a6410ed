//! The inference thread: it owns the model, takes requests from a bounded queue, merges those
//! that arrive together into one forward pass (dynamic batching) and answers each with its rows.

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

/// The thread's loop: until the queue closes, gather a batch, run it, answer it.
fn run(model: &dyn Servable, rx: &Receiver<Job>, b: Batching, metrics: &Metrics) {
    let mut held: Option<Job> = None;
    loop {
        let first = match held.take() {
            Some(job) => job,
            None => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        let mut rows = first.batch;
        let mut jobs = vec![first];
        let deadline = Instant::now() + b.max_wait;
        while rows < b.max_batch {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = if left.is_zero() { rx.try_recv().ok() } else { rx.recv_timeout(left).ok() };
            match next {
                Some(job) if rows + job.batch <= b.max_batch => {
                    rows += job.batch;
                    jobs.push(job);
                }
                // Too big to join: it starts the next batch.
                Some(job) => {
                    held = Some(job);
                    break;
                }
                None => break,
            }
        }
        // A closed queue still hands out what it holds before `recv` fails.
        answer(model, jobs, rows, b.max_batch, metrics);
    }
}

/// Runs `jobs` (`rows` samples in all) in passes of at most `max_batch` and answers each job.
fn answer(model: &dyn Servable, jobs: Vec<Job>, rows: usize, max_batch: usize, metrics: &Metrics) {
    // A request the model cannot take is answered alone, before it can spoil a batch.
    let (mut kept, mut rows) = (Vec::with_capacity(jobs.len()), rows);
    for job in jobs {
        match catch_unwind(AssertUnwindSafe(|| model.check(&job.values, job.batch))) {
            Ok(Ok(())) => kept.push(job),
            failed => {
                let m = match failed {
                    Ok(Err(e)) => Failed::Input(e.to_string()),
                    _ => Failed::Model("the model's input check panicked".to_string()),
                };
                rows -= job.batch;
                let _ = job.reply.send(Err(m));
            }
        }
    }
    let jobs = kept;
    let per_in: usize = model.input_dims().iter().product();
    let per_out: usize = model.output_dims().iter().product();
    let mut values = Vec::with_capacity(rows * per_in);
    for job in &jobs {
        values.extend_from_slice(&job.values);
    }
    let mut outputs = Vec::with_capacity(rows * per_out);
    let mut failure = None;
    for chunk in values.chunks(max_batch.max(1) * per_in.max(1)) {
        let n = chunk.len() / per_in.max(1);
        metrics.record_batch(n);
        match catch_unwind(AssertUnwindSafe(|| model.predict(chunk, n))) {
            Ok(Ok(out)) => outputs.extend(out),
            Ok(Err(e)) => {
                failure = Some(Failed::Model(format!("the model failed on this batch: {e}")));
                break;
            }
            Err(_) => {
                failure = Some(Failed::Model(
                    "the model's forward pass panicked on this batch".to_string(),
                ));
                break;
            }
        }
    }
    let mut at = 0;
    for job in jobs {
        let n = job.batch * per_out;
        let result = match &failure {
            Some(e) => Err(e.clone()),
            None => finite(&outputs[at..at + n], per_out),
        };
        at += n;
        let _ = job.reply.send(result);
    }
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
