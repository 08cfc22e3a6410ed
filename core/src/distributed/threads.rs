//! An in-process engine: ranks are threads of one process meeting at a shared rendezvous. It
//! runs data-parallel code, and its tests, without MPI or a GPU.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::collective::{Collective, Pending, Values};
use crate::error::{Error, Result};

/// One rank of a group of threads; [`ThreadGroup::new`] makes every rank, one per thread.
///
/// ```
/// use shapeflow_core::distributed::{Collective, ThreadGroup, Values};
/// let sums: Vec<Values> = std::thread::scope(|s| {
///     let handles: Vec<_> = ThreadGroup::new(3)
///         .into_iter()
///         .map(|rank| s.spawn(move || {
///             let mine = Values::F64(vec![rank.rank() as f64, 1.0]);
///             rank.all_reduce_sum(mine).wait().unwrap()
///         }))
///         .collect();
///     handles.into_iter().map(|h| h.join().unwrap()).collect()
/// });
/// assert!(sums.iter().all(|v| *v == Values::F64(vec![3.0, 3.0])));
/// ```
#[derive(Clone, Debug)]
pub struct ThreadGroup {
    rank: usize,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    world: usize,
    timeout: Duration,
    state: Mutex<Round>,
    changed: Condvar,
}

/// One collective at a time: contributions are gathered, the result is computed by the last
/// rank to arrive, then every rank takes it and the next round starts.
#[derive(Debug, Default)]
struct Round {
    number: u64,
    arrived: usize,
    taken: usize,
    contributions: Vec<Option<(Op, Values)>>,
    result: Option<std::result::Result<Values, String>>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Sum,
    Broadcast(usize),
}

impl ThreadGroup {
    /// `world` ranks whose operations wait up to 60 s for each other.
    pub fn new(world: usize) -> Vec<ThreadGroup> {
        Self::with_timeout(world, Duration::from_secs(60))
    }

    /// `world` ranks whose operations fail after `timeout` when a rank does not take part.
    pub fn with_timeout(world: usize, timeout: Duration) -> Vec<ThreadGroup> {
        let world = world.max(1);
        let round = Round { contributions: vec![None; world], ..Round::default() };
        let shared =
            Arc::new(Shared { world, timeout, state: Mutex::new(round), changed: Condvar::new() });
        (0..world).map(|rank| ThreadGroup { rank, shared: shared.clone() }).collect()
    }

    fn run(&self, op: Op, values: Values) -> Result<Values> {
        let what = match op {
            Op::Sum => "all-reduce",
            Op::Broadcast(_) => "broadcast",
        };
        let s = &*self.shared;
        let deadline = Instant::now() + s.timeout;
        let mut st = self.lock()?;
        // Wait for the previous round to be taken by everyone.
        while st.result.is_some() {
            st = self.wait(st, deadline, what)?;
        }
        let number = st.number;
        st.contributions[self.rank] = Some((op, values));
        st.arrived += 1;
        if st.arrived == s.world {
            let parts: Vec<(Op, Values)> =
                st.contributions.iter_mut().filter_map(Option::take).collect();
            st.result = Some(combine(&parts));
            s.changed.notify_all();
        }
        while !(st.number == number && st.result.is_some()) {
            st = self.wait(st, deadline, what)?;
        }
        let result = st.result.clone().unwrap_or_else(|| Err("no result".into()));
        st.taken += 1;
        if st.taken == s.world {
            st.number += 1;
            st.arrived = 0;
            st.taken = 0;
            st.result = None;
            s.changed.notify_all();
        }
        result.map_err(|m| Error::Distributed(format!("{what} (threads engine): {m}")))
    }

    fn lock(&self) -> Result<MutexGuard<'_, Round>> {
        self.shared
            .state
            .lock()
            .map_err(|_| Error::Distributed("a rank's thread panicked during a collective".into()))
    }

    fn wait<'a>(
        &self,
        st: MutexGuard<'a, Round>,
        deadline: Instant,
        what: &str,
    ) -> Result<MutexGuard<'a, Round>> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Distributed(format!(
                "{what} (threads engine): rank {} got no answer from the other ranks within {} s; \
                 a rank has failed, stopped or hangs",
                self.rank,
                self.shared.timeout.as_secs_f64()
            )));
        }
        let (st, _) = self.shared.changed.wait_timeout(st, left).map_err(|_| {
            Error::Distributed("a rank's thread panicked during a collective".into())
        })?;
        Ok(st)
    }
}

/// The result of one round from every rank's contribution (in rank order).
fn combine(parts: &[(Op, Values)]) -> std::result::Result<Values, String> {
    let (op, first) = &parts[0];
    for (rank, (o, v)) in parts.iter().enumerate() {
        if o != op {
            return Err(format!("rank {rank} started {o:?} while rank 0 started {op:?}"));
        }
        if v.type_name() != first.type_name() || v.len() != first.len() {
            return Err(format!(
                "rank {rank} passed {} {} values, rank 0 passed {} {}",
                v.len(),
                v.type_name(),
                first.len(),
                first.type_name()
            ));
        }
    }
    match *op {
        Op::Broadcast(root) => Ok(parts[root].1.clone()),
        Op::Sum => {
            let mut acc = first.clone();
            for (_, v) in &parts[1..] {
                match (&mut acc, v) {
                    (Values::F32(a), Values::F32(b)) => {
                        a.iter_mut().zip(b).for_each(|(a, b)| *a += b)
                    }
                    (Values::F64(a), Values::F64(b)) => {
                        a.iter_mut().zip(b).for_each(|(a, b)| *a += b)
                    }
                    _ => return Err("bytes cannot be summed".into()),
                }
            }
            Ok(acc)
        }
    }
}

impl Collective for ThreadGroup {
    fn rank(&self) -> usize {
        self.rank
    }
    fn world(&self) -> usize {
        self.shared.world
    }
    fn engine(&self) -> &'static str {
        "threads"
    }
    fn all_reduce_sum(&self, values: Values) -> Pending {
        let me = self.clone();
        Pending::deferred(move || me.run(Op::Sum, values))
    }
    fn broadcast(&self, values: Values, root: usize) -> Pending {
        if root >= self.shared.world {
            return Pending::ready(Err(Error::Distributed(format!(
                "broadcast from rank {root} in a world of {}",
                self.shared.world
            ))));
        }
        let me = self.clone();
        Pending::deferred(move || me.run(Op::Broadcast(root), values))
    }
}
