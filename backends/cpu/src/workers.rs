//! `Device::on_workers` for the CPU: run a training step or a forward pass on a rayon worker,
//! with another worker kept awake for its kernels.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Runs `f` on a rayon worker (called from another thread such as `main`, every parallel kernel
/// would hand its work to the workers and sleep until they finish: a wake-up per kernel), and
/// meanwhile keeps another worker spinning on the pool's pending jobs ([`keep_busy`]).
pub(crate) fn on_workers<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let done = AtomicBool::new(false);
    // The profiler's recording follows `f` to the worker that runs it.
    let recording = shapeflow_core::profile::current();
    rayon::scope(|scope| {
        if rayon::current_num_threads() > 1 {
            let (done, owner) = (&done, rayon::current_thread_index());
            scope.spawn(move |_| keep_busy(done, owner));
        }
        // Set even when `f` panics, so the helper stops at once.
        let _stop = SetOnDrop(&done);
        shapeflow_core::profile::attach(recording, f)
    })
}

/// Runs the pool's pending jobs until `done`, spinning between them: while `f` of
/// `on_workers` runs, another worker stays awake and takes each kernel's share at once instead of
/// being woken from sleep for every one (~20 kernels per training step; the MLP training benchmark (W2) +16 %, the CNN training benchmark (W3) +15 %).
///
/// It gives up after [`IDLE_LIMIT`] without work, so it never holds a worker for long: this job
/// may start on a worker that is itself waiting inside one of `f`'s jobs (rayon runs pending
/// jobs while it waits), and that job can only resume once this one returns. The worker running
/// `f` (`owner`) returns at once.
fn keep_busy(done: &AtomicBool, owner: Option<usize>) {
    if rayon::current_thread_index() == owner {
        return;
    }
    // Idle rounds since the last job, and when the idle spell began (read every 64 rounds:
    // the clock and the steal attempts are not free for a core's hyperthread sibling).
    let (mut idle_rounds, mut idle_since) = (0u32, Instant::now());
    while !done.load(Ordering::Acquire) {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            idle_rounds = 0;
            continue;
        }
        if idle_rounds == 0 {
            idle_since = Instant::now();
        }
        idle_rounds = idle_rounds.wrapping_add(1);
        if idle_rounds % 64 == 0 && idle_since.elapsed() > IDLE_LIMIT {
            return;
        }
        for _ in 0..BACKOFF_SPINS {
            std::hint::spin_loop();
        }
    }
}

/// Pause instructions between two looks for work while idle.
const BACKOFF_SPINS: u32 = 16;

/// How long [`keep_busy`] spins without finding work before it lets its worker go.
const IDLE_LIMIT: Duration = Duration::from_millis(5);

/// Sets its flag when dropped (at the end of `on_workers`' job, or while unwinding from it).
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Sets how many threads the CPU backend runs on (its kernels and `on_workers`), for the whole
/// process: call it first, before any tensor work. Without it, every core is used (or the
/// number in the `RAYON_NUM_THREADS` environment variable). An `Err` once the threads have
/// started (the first kernel starts them) or for 0.
///
/// ```
/// // In a program's `main`, before anything else; here the doctest's own process may have
/// // started its threads already, which the `Err` says.
/// match shapeflow_cpu::set_num_threads(2) {
///     Ok(()) => assert_eq!(rayon::current_num_threads(), 2),
///     Err(e) => assert!(e.to_string().contains("already running")),
/// }
/// ```
pub fn set_num_threads(n: usize) -> shapeflow_core::Result<()> {
    if n == 0 {
        return Err(shapeflow_core::Error::Config(
            "set_num_threads(0): the CPU backend needs at least one thread".into(),
        ));
    }
    rayon::ThreadPoolBuilder::new().num_threads(n).build_global().map_err(|_| {
        shapeflow_core::Error::Config(format!(
            "set_num_threads({n}): the CPU backend's {} threads are already running; call it at \
             the start of `main`, before any tensor work (or set RAYON_NUM_THREADS={n})",
            rayon::current_num_threads()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;
    use std::sync::mpsc;

    /// Runs `scenario` on its own thread and fails (instead of hanging the suite) if it does not
    /// finish within a minute.
    fn finishes(name: &str, scenario: impl FnOnce() + Send + 'static) {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            scenario();
            let _ = tx.send(());
        });
        assert!(rx.recv_timeout(Duration::from_secs(60)).is_ok(), "{name} did not finish");
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool")
    }

    /// Parallel work inside, nested calls, calls from inside parallel loops (each helper may
    /// start on a worker that is waiting inside another call's jobs), on pools of 1 to 8.
    #[test]
    fn nested_and_concurrent_calls_finish_with_the_right_results() {
        for threads in [1, 2, 3, 8] {
            finishes("nested and concurrent calls", move || {
                pool(threads).install(|| {
                    let total: u64 = on_workers(|| (0..10_000u64).into_par_iter().sum());
                    assert_eq!(total, 49_995_000);
                    let nested =
                        on_workers(|| on_workers(|| (0..100u64).into_par_iter().sum::<u64>()));
                    assert_eq!(nested, 4_950);
                    let sums: Vec<u64> = (0..64u64)
                        .into_par_iter()
                        .map(|i| on_workers(|| (0..1_000u64).into_par_iter().map(|v| v * i).sum()))
                        .collect();
                    assert!(sums.iter().enumerate().all(|(i, &s)| s == 499_500 * i as u64));
                });
                // And from a thread outside any pool (the global pool).
                assert_eq!(on_workers(|| (0..1_000u64).into_par_iter().sum::<u64>()), 499_500);
            });
        }
    }

    /// A panic inside is propagated, and the helper lets its worker go.
    #[test]
    fn a_panic_inside_propagates_and_the_pool_keeps_working() {
        finishes("a panic inside", || {
            let pool = pool(2);
            let caught = pool.install(|| {
                std::panic::catch_unwind(|| on_workers(|| panic!("inside on_workers")))
            });
            assert!(caught.is_err());
            assert_eq!(pool.install(|| on_workers(|| 7)), 7);
        });
    }
}
