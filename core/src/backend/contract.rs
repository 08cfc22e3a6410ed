//! The backend's size contract, checked in one place.
//!
//! Every family method that takes buffers is two trait items: the safe method callers use
//! (`Linalg::matmul`), which checks each buffer's length (and every index it is given) against
//! the call's geometry here, then calls the backend's kernel (`Linalg::matmul_unchecked`, an
//! `unsafe fn` whose safety condition is exactly what was checked). A backend implements the
//! `_unchecked` items and never overrides the checked ones, so no safe call can reach a kernel
//! with buffers shorter than its sizes say. Element counts are multiplied with overflow checks.
//!
//! A broken contract is a bug in the caller (tensor ops and layers size every buffer from its
//! shape), so it panics — like an out-of-bounds slice index — with a message naming the method,
//! the buffer, its length and the geometry:
//!
//! ```should_panic
//! use shapeflow_core::backend::{Device, Gemm, Linalg};
//! use shapeflow_cpu::Cpu;
//! let dev = Cpu::default();
//! let (a, b, mut c) = (dev.upload(&[1.0; 5]), dev.upload(&[1.0; 3]), dev.zeros(2));
//! // `a` should hold 2 × 3 = 6 values:
//! // "Linalg::matmul: `a` holds 5 values, Gemm { m: 2, k: 3, .. } needs at least 6"
//! Cpu::matmul(&a, &b, &mut c, Gemm::new(2, 3, 1));
//! ```

use std::fmt::Debug;

/// The checked product of sizes: `None` when it overflows `usize`.
///
/// ```
/// use shapeflow_core::backend::contract::count;
/// assert_eq!(count(&[2, 3, 4]), Some(24));
/// assert_eq!(count(&[1 << 40, 1 << 40]), None);
/// ```
pub fn count(sizes: &[usize]) -> Option<usize> {
    sizes.iter().try_fold(1usize, |acc, &s| acc.checked_mul(s))
}

/// What one buffer must hold for a call: at least, or exactly, `need` values.
///
/// ```
/// use shapeflow_core::backend::contract::Need;
/// assert!(Need::at_least("x", 6, Some(6)).holds());
/// assert!(!Need::exactly("y", 7, 6).holds());
/// assert!(!Need::at_least("z", 6, None).holds()); // the count overflowed
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Need {
    /// The argument's name as the method declares it.
    pub name: &'static str,
    /// The values the buffer holds.
    pub have: usize,
    /// The values the geometry needs (`None`: its element count overflows `usize`).
    pub need: Option<usize>,
    /// Whether the length must equal `need` (elementwise operands) or only reach it.
    pub exact: bool,
}

impl Need {
    /// The buffer must hold at least `need` values.
    pub const fn at_least(name: &'static str, have: usize, need: Option<usize>) -> Self {
        Need { name, have, need, exact: false }
    }
    /// The buffer must hold exactly `need` values.
    pub const fn exactly(name: &'static str, have: usize, need: usize) -> Self {
        Need { name, have, need: Some(need), exact: true }
    }
    /// Whether the buffer meets the need.
    pub fn holds(&self) -> bool {
        match self.need {
            None => false,
            Some(n) if self.exact => self.have == n,
            Some(n) => self.have >= n,
        }
    }
}

/// Panics, naming `method`, the first unmet need and `geometry`, unless every need holds.
///
/// ```should_panic
/// use shapeflow_core::backend::contract::{check, Need};
/// check("Elementwise::mul", None, &[Need::exactly("b", 3, 4)]);
/// ```
#[track_caller]
pub fn check(method: &str, geometry: Option<&dyn Debug>, needs: &[Need]) {
    let Some(bad) = needs.iter().find(|n| !n.holds()) else { return };
    let needed = match bad.need {
        None => "a count that overflows usize".to_string(),
        Some(n) if bad.exact => format!("exactly {n}"),
        Some(n) => format!("at least {n}"),
    };
    let by = geometry.map(|g| format!("{g:?}")).unwrap_or_else(|| "the call".to_string());
    panic!(
        "{method}: `{}` holds {} values, {by} needs {needed} (the backend's size contract: \
         tensor ops and layers size every buffer from its shape; a direct call must too)",
        bad.name, bad.have
    );
}

/// Panics unless `indices` has at least `len` entries, each `< bound` (or `usize::MAX`, an
/// index the caller marked invalid, where `skip_max`).
///
/// ```should_panic
/// shapeflow_core::backend::contract::check_indices("Rows::nll_sum", "labels", &[0, 3], 2, 3, false);
/// ```
#[track_caller]
pub fn check_indices(
    method: &str,
    name: &str,
    indices: &[usize],
    len: usize,
    bound: usize,
    skip_max: bool,
) {
    if indices.len() < len {
        panic!("{method}: `{name}` holds {} indices, the call needs at least {len}", indices.len());
    }
    let bad = indices[..len].iter().position(|&i| i >= bound && !(skip_max && i == usize::MAX));
    if let Some(at) = bad {
        panic!(
            "{method}: `{name}[{at}]` is {}, outside 0..{bound} (the backend's size contract)",
            indices[at]
        );
    }
}

/// Panics unless `lengths` is empty (where `may_be_empty`) or holds at least `batch` sequence
/// lengths, each at most `steps`.
///
/// ```should_panic
/// shapeflow_core::backend::contract::check_lengths("Sequence::mean_steps", &[3, 9], 2, 4, false);
/// ```
#[track_caller]
pub fn check_lengths(
    method: &str,
    lengths: &[usize],
    batch: usize,
    steps: usize,
    may_be_empty: bool,
) {
    if may_be_empty && lengths.is_empty() {
        return;
    }
    if lengths.len() < batch {
        panic!("{method}: `lengths` holds {} lengths, the batch has {batch}", lengths.len());
    }
    if let Some(at) = lengths[..batch].iter().position(|&l| l > steps) {
        panic!("{method}: `lengths[{at}]` is {}, longer than the {steps} steps", lengths[at]);
    }
}

/// The values a strided view of `dims` reaches in its buffer: one past its last element.
///
/// ```
/// use shapeflow_core::backend::{contract::span, View};
/// use shapeflow_core::Dims;
/// let dims = Dims::new(&[2, 3]).unwrap();
/// assert_eq!(span(&View::contiguous(&dims), &dims), Some(6));
/// assert_eq!(span(&View::broadcast(&Dims::new(&[3]).unwrap(), &dims), &dims), Some(3));
/// ```
pub fn span(view: &super::View, dims: &crate::Dims) -> Option<usize> {
    let sizes = dims.as_slice();
    if sizes.contains(&0) {
        return Some(0);
    }
    let last = sizes.iter().zip(&view.strides).try_fold(view.offset, |acc, (&d, &s)| {
        (d - 1).checked_mul(s).and_then(|step| acc.checked_add(step))
    })?;
    last.checked_add(1)
}

/// Checks a family method's buffers: `contract!("Family::method", geometry; buf => at_least(n),
/// other => exactly(m))`, the geometry optional. Expands to [`check`] with each buffer's
/// `Self::len`.
macro_rules! contract {
    ($method:literal; $($buf:expr => $kind:ident($need:expr)),* $(,)?) => {
        $crate::backend::contract::check(
            $method,
            None,
            &[$($crate::backend::contract::Need::$kind(stringify!($buf), Self::len($buf), $need)),*],
        )
    };
    ($method:literal, $geom:expr; $($buf:expr => $kind:ident($need:expr)),* $(,)?) => {
        $crate::backend::contract::check(
            $method,
            Some(&$geom),
            &[$($crate::backend::contract::Need::$kind(stringify!($buf), Self::len($buf), $need)),*],
        )
    };
}
pub(crate) use contract;
