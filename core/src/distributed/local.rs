//! The one-process engine: every collective is the identity.

use super::collective::{Collective, Pending, Values};

/// A single process as a world of one: data-parallel code runs unchanged without an engine.
///
/// ```
/// use shapeflow_core::distributed::{Collective, Local, Values};
/// let v = Local::default().broadcast(Values::U8(vec![7]), 0).wait().unwrap();
/// assert_eq!(v, Values::U8(vec![7]));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Local;

impl Collective for Local {
    fn rank(&self) -> usize {
        0
    }
    fn world(&self) -> usize {
        1
    }
    fn engine(&self) -> &'static str {
        "local"
    }
    fn all_reduce_sum(&self, values: Values) -> Pending {
        Pending::ready(Ok(values))
    }
    fn broadcast(&self, values: Values, _root: usize) -> Pending {
        Pending::ready(Ok(values))
    }
}
