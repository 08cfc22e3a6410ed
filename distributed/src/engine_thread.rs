//! The thread an engine's library runs on: jobs in, results out, in the order they were
//! started (the same order on every rank).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shapeflow_core::distributed::{Pending, Values};
use shapeflow_core::{Error, Result};

/// What an engine does on its thread.
pub(crate) trait Ops {
    fn sum(&mut self, values: Values) -> Result<Values>;
    fn broadcast(&mut self, values: Values, root: usize) -> Result<Values>;
}

enum Job {
    Sum(Values, Sender<Result<Values>>),
    Broadcast(Values, usize, Sender<Result<Values>>),
}

/// An engine's thread and the sending half of its queue.
pub(crate) struct EngineThread {
    pub name: &'static str,
    pub rank: usize,
    pub world: usize,
    pub timeout: Duration,
    jobs: Mutex<Option<Sender<Job>>>,
    done: Mutex<Receiver<()>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Set when a collective timed out: the thread is stuck in the library, so every later
    /// collective fails at once and the drop does not wait for it.
    stalled: Arc<AtomicBool>,
}

impl std::fmt::Debug for EngineThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} engine (rank {} of {})", self.name, self.rank, self.world)
    }
}

impl EngineThread {
    /// Starts the thread; `init` runs on it and returns the engine with its rank and world.
    pub fn spawn<O: Ops + 'static>(
        name: &'static str,
        timeout: Duration,
        init: impl FnOnce() -> Result<(O, usize, usize)> + Send + 'static,
    ) -> Result<EngineThread> {
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(usize, usize)>>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("shapeflow-{name}"))
            .spawn(move || {
                let (mut ops, rank, world) = match init() {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((rank, world)));
                for job in jobs_rx {
                    match job {
                        Job::Sum(v, reply) => {
                            let _ = reply.send(ops.sum(v));
                        }
                        Job::Broadcast(v, root, reply) => {
                            let _ = reply.send(ops.broadcast(v, root));
                        }
                    }
                }
                // The engine (MPI_Finalize, the NCCL communicator) ends here, on its thread.
                drop(ops);
                let _ = done_tx.send(());
            })
            .map_err(|e| Error::Distributed(format!("cannot start the {name} thread: {e}")))?;
        let (rank, world) = ready_rx.recv().map_err(|_| {
            Error::Distributed(format!("the {name} engine stopped while starting"))
        })??;
        Ok(EngineThread {
            name,
            rank,
            world,
            timeout,
            jobs: Mutex::new(Some(jobs_tx)),
            done: Mutex::new(done_rx),
            thread: Mutex::new(Some(thread)),
            stalled: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Queues a collective; its `Pending` fails `timeout` after this call (not after the wait
    /// starts), and once one has timed out every later one fails at once, so a stuck or dead
    /// rank is an error within the timeout, not after one timeout per collective.
    fn submit(&self, what: &str, make: impl FnOnce(Sender<Result<Values>>) -> Job) -> Pending {
        if self.stalled.load(Ordering::SeqCst) {
            return Pending::ready(Err(Error::Distributed(format!(
                "{what}: an earlier collective of the {} engine got no answer from the other \
                 ranks within {} s; none runs after that",
                self.name,
                self.timeout.as_secs_f64()
            ))));
        }
        let (tx, rx) = mpsc::channel();
        let sent = match self.jobs.lock() {
            Ok(jobs) => jobs.as_ref().is_some_and(|j| j.send(make(tx)).is_ok()),
            Err(_) => false,
        };
        if !sent {
            return Pending::ready(Err(Error::Distributed(format!(
                "{what}: the {} engine has stopped",
                self.name
            ))));
        }
        let what = format!("{what} ({} engine, rank {} of {})", self.name, self.rank, self.world);
        let (deadline, timeout, stalled) =
            (Instant::now() + self.timeout, self.timeout, self.stalled.clone());
        Pending::deferred(move || {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(result) => result,
                Err(RecvTimeoutError::Timeout) => {
                    stalled.store(true, Ordering::SeqCst);
                    Err(Error::Distributed(format!(
                        "{what}: no answer from the other ranks within {} s; a rank has failed, \
                         stopped or hangs (see its own output)",
                        timeout.as_secs_f64()
                    )))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    Err(Error::Distributed(format!("{what}: the engine stopped")))
                }
            }
        })
    }

    pub fn sum(&self, values: Values) -> Pending {
        self.submit("all-reduce", |tx| Job::Sum(values, tx))
    }

    pub fn broadcast(&self, values: Values, root: usize) -> Pending {
        if root >= self.world {
            return Pending::ready(Err(Error::Distributed(format!(
                "broadcast from rank {root} in a world of {}",
                self.world
            ))));
        }
        self.submit("broadcast", |tx| Job::Broadcast(values, root, tx))
    }
}

impl Drop for EngineThread {
    /// Closes the queue and lets the thread finalize the engine (`MPI_Finalize` waits for the
    /// other ranks to finish too); a thread stuck in a collective (a rank that died or hangs)
    /// is left behind at once when a collective has timed out, and after the engine's timeout
    /// otherwise, instead of hanging the process's exit.
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if self.stalled.load(Ordering::SeqCst) {
            return;
        }
        let finished =
            self.done.lock().map(|d| d.recv_timeout(self.timeout).is_ok()).unwrap_or(false);
        if finished
            && let Ok(mut t) = self.thread.lock()
            && let Some(t) = t.take()
        {
            let _ = t.join();
        }
    }
}
