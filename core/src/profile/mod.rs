//! Where a step's time and memory go, layer by layer: [`record`] runs a closure (a training
//! step, a forward pass) and returns what every layer of every model did inside it — forward and
//! backward time, and the bytes of the buffers it took (its outputs, caches and gradients) —
//! as a [`Profile`]: a table sorted by time (`{}`), or a Chrome trace for `chrome://tracing`
//! and Perfetto ([`Profile::write_chrome_trace`]). `fit` profiles a chosen step
//! ([`crate::fit::FitConfig::profile`]).
//!
//! Layers report through spans that `model!` puts around each node's forward and backward (and
//! sequences around each element), so nested models and custom layers appear under their
//! PyTorch paths (`layer2.0.conv1`); outside [`record`] a span costs one thread-local read.
//!
//! ```
//! use shapeflow_core::profile::{self, Phase};
//!
//! let ((), prof) = profile::record(|| {
//!     let _layer = profile::enter("fc1", "Linear<4, 2>", Phase::Forward);
//!     std::thread::sleep(std::time::Duration::from_millis(2));
//! });
//! assert_eq!(prof.records().len(), 1);
//! assert_eq!(prof.records()[0].path, "fc1");
//! assert!(prof.records()[0].duration.as_millis() >= 2);
//! println!("{prof}");
//! ```

mod report;

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use report::ProfileRow;

/// What a span measured: a layer's forward or backward pass, the loss, or the optimizer's step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// `forward` or `forward_train`.
    Forward,
    /// `backward` or `backward_params`.
    Backward,
    /// The loss and its gradient.
    Loss,
    /// The optimizer's update.
    Update,
}

impl Phase {
    /// `forward`, `backward`, `loss`, `update`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Forward => "forward",
            Phase::Backward => "backward",
            Phase::Loss => "loss",
            Phase::Update => "update",
        }
    }
}

/// One finished span.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The layer's path, PyTorch's (`layer2.0.conv1`).
    pub path: String,
    /// Its kind as declared (`Conv2d<64, 128, 3, stride = 2, padding = 1>`); empty for a
    /// sequence's element.
    pub kind: &'static str,
    /// What it measured.
    pub phase: Phase,
    /// When it started, from the start of [`record`].
    pub start: Duration,
    /// How long it took (wall time).
    pub duration: Duration,
    /// Bytes of the backend buffers taken inside it (outputs, caches, gradients, scratch),
    /// whether the backend's pool had them or not.
    pub buffer_bytes: u64,
    /// Of those, bytes the pool did not have (fresh memory from the system or the device).
    pub new_bytes: u64,
    /// How deep it was nested (0: a layer of the outermost model).
    pub depth: usize,
    /// Whether no span was opened inside it (a layer, not a model or sequence).
    pub leaf: bool,
    /// Which thread ran it (1, 2, … in order of first use).
    pub thread: u64,
}

/// Everything [`record`] saw, in the order spans finished.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    records: Vec<Record>,
    total: Duration,
}

impl Profile {
    /// Every span, in the order they finished.
    pub fn records(&self) -> &[Record] {
        &self.records
    }
    /// The wall time of the whole closure.
    pub fn total(&self) -> Duration {
        self.total
    }
}

/// A recording: when it started, what has finished, and the buffers taken while it ran.
struct Session {
    start: Instant,
    records: Mutex<Vec<Record>>,
    buffers: AtomicU64,
    fresh: AtomicU64,
}

/// A recording in progress, to carry to another thread ([`current`], [`attach`]).
#[derive(Clone)]
pub struct Recording(Arc<Session>);

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

/// A span being measured.
struct Open {
    path: String,
    kind: &'static str,
    phase: Phase,
    start: Instant,
    buffers: u64,
    fresh: u64,
    leaf: bool,
}

thread_local! {
    /// The recording spans on this thread belong to.
    static SESSION: RefCell<Option<Arc<Session>>> = const { RefCell::new(None) };
    static STACK: RefCell<Vec<Open>> = const { RefCell::new(Vec::new()) };
    static THREAD: Cell<u64> = const { Cell::new(0) };
}

fn thread_number() -> u64 {
    THREAD.with(|t| {
        if t.get() == 0 {
            t.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
        }
        t.get()
    })
}

fn session() -> Option<Arc<Session>> {
    SESSION.with(|s| s.borrow().clone())
}

/// Runs `f` and returns its result with the profile of every span inside it: on this thread,
/// and on the threads `f` hands its work to through [`attach`] (the CPU backend's
/// `on_workers` does). Recordings on other threads are separate. A recording inside another
/// is empty; the outer one keeps seeing everything.
pub fn record<R>(f: impl FnOnce() -> R) -> (R, Profile) {
    if session().is_some() {
        return (f(), Profile::default());
    }
    let s = Arc::new(Session {
        start: Instant::now(),
        records: Mutex::new(Vec::new()),
        buffers: AtomicU64::new(0),
        fresh: AtomicU64::new(0),
    });
    let out = attach(Some(Recording(Arc::clone(&s))), f);
    let total = s.start.elapsed();
    let records = s.records.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
    (out, Profile { records, total })
}

/// The recording this thread's spans go to, if any: give it to [`attach`] on the thread that
/// runs the work.
pub fn current() -> Option<Recording> {
    session().map(Recording)
}

/// Runs `f` with its spans going to `recording` (from [`current`] on the thread that handed
/// `f` over); `None` runs it unrecorded.
pub fn attach<R>(recording: Option<Recording>, f: impl FnOnce() -> R) -> R {
    /// Puts the thread's previous recording back, even if `f` unwinds.
    struct Restore(Option<Arc<Session>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            SESSION.with(|s| *s.borrow_mut() = previous);
        }
    }
    let previous = SESSION.with(|s| s.replace(recording.map(|r| r.0)));
    let _restore = Restore(previous);
    f()
}

/// Opens a span for the layer `name` (its field, or a sequence's index) of kind `kind`, closed
/// when the returned guard drops; nested spans extend its path. `model!` generates these.
/// Outside a recording it does nothing.
pub fn enter(name: &'static str, kind: &'static str, phase: Phase) -> Span {
    let Some(s) = session() else { return Span { session: None } };
    STACK.with(|stack| {
        let mut stack = stack.borrow_mut();
        let path = match stack.last_mut() {
            Some(outer) => {
                outer.leaf = false;
                format!("{}.{name}", outer.path)
            }
            None => name.to_string(),
        };
        stack.push(Open {
            path,
            kind,
            phase,
            start: Instant::now(),
            buffers: s.buffers.load(Ordering::Relaxed),
            fresh: s.fresh.load(Ordering::Relaxed),
            leaf: true,
        });
    });
    Span { session: Some(s) }
}

/// Counts a backend buffer of `bytes` taken on this thread while it records; `fresh` when it
/// is new memory (the pool had none of its size). Backends call it where they hand out
/// buffers.
pub fn buffer_taken(bytes: usize, fresh: bool) {
    SESSION.with(|s| {
        if let Some(s) = s.borrow().as_ref() {
            s.buffers.fetch_add(bytes as u64, Ordering::Relaxed);
            if fresh {
                s.fresh.fetch_add(bytes as u64, Ordering::Relaxed);
            }
        }
    });
}

/// An open span; dropping it records it.
#[must_use = "a span measures until it is dropped"]
pub struct Span {
    session: Option<Arc<Session>>,
}

impl Drop for Span {
    fn drop(&mut self) {
        let Some(s) = self.session.take() else { return };
        let end = Instant::now();
        let Some((open, depth)) = STACK.with(|stack| {
            let mut stack = stack.borrow_mut();
            let open = stack.pop()?;
            Some((open, stack.len()))
        }) else {
            return;
        };
        let record = Record {
            path: open.path,
            kind: open.kind,
            phase: open.phase,
            start: open.start.saturating_duration_since(s.start),
            duration: end - open.start,
            buffer_bytes: s.buffers.load(Ordering::Relaxed).saturating_sub(open.buffers),
            new_bytes: s.fresh.load(Ordering::Relaxed).saturating_sub(open.fresh),
            depth,
            leaf: open.leaf,
            thread: thread_number(),
        };
        if let Ok(mut records) = s.records.lock() {
            records.push(record);
        }
    }
}
