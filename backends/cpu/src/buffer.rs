//! `CpuBuf`: the CPU backend's storage, a `Vec` whose memory goes back to a per-type pool when
//! dropped, so a training step reuses the previous step's buffers instead of asking the system
//! allocator for fresh (page-faulting, zero-filled) memory every time.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use crate::CpuElem;

/// Freed buffers by length, with the bytes they hold.
pub struct Pool<E> {
    free: BTreeMap<usize, Vec<Vec<E>>>,
    bytes: usize,
}

/// At most this many bytes wait in a pool; beyond it, buffers go back to the system.
const MAX_POOLED_BYTES: usize = 1 << 30;
/// Every non-empty buffer is pooled, so a steady-state training step allocates nothing.
const MIN_POOLED_LEN: usize = 1;

impl<E> Pool<E> {
    /// An empty pool.
    pub const fn new() -> Self {
        Pool { free: BTreeMap::new(), bytes: 0 }
    }
}

impl<E> Default for Pool<E> {
    fn default() -> Self {
        Self::new()
    }
}

fn take<E: CpuElem>(len: usize) -> Option<Vec<E>> {
    if len < MIN_POOLED_LEN {
        return None;
    }
    let mut pool = E::pool().lock().ok()?;
    let list = pool.free.get_mut(&len)?;
    let v = list.pop()?;
    pool.bytes -= len * size_of::<E>();
    Some(v)
}

fn give<E: CpuElem>(v: Vec<E>) {
    let bytes = v.len() * size_of::<E>();
    if v.len() < MIN_POOLED_LEN || v.len() != v.capacity() {
        return;
    }
    if let Ok(mut pool) = E::pool().lock()
        && pool.bytes + bytes <= MAX_POOLED_BYTES
    {
        pool.bytes += bytes;
        pool.free.entry(v.len()).or_default().push(v);
    }
}

/// A contiguous buffer of `E` on the CPU.
///
/// ```
/// use shapeflow_cpu::CpuBuf;
/// let b = CpuBuf::<f32>::zeros(3);
/// assert_eq!(&b[..], &[0.0, 0.0, 0.0]);
/// ```
pub struct CpuBuf<E: CpuElem> {
    data: Vec<E>,
}

impl<E: CpuElem> CpuBuf<E> {
    /// A zero-filled buffer.
    pub fn zeros(len: usize) -> Self {
        match take::<E>(len) {
            Some(mut v) => {
                v.fill(E::zero());
                CpuBuf { data: v }
            }
            None => CpuBuf { data: vec![E::zero(); len] },
        }
    }

    /// A buffer whose contents are unspecified (old values of a pooled buffer, or zeros); for
    /// outputs every element of which the caller overwrites.
    pub fn scratch(len: usize) -> Self {
        match take::<E>(len) {
            Some(v) => CpuBuf { data: v },
            None => CpuBuf { data: vec![E::zero(); len] },
        }
    }

    /// A copy of `values`.
    pub fn from_slice(values: &[E]) -> Self {
        let mut b = Self::scratch(values.len());
        b.data.copy_from_slice(values);
        b
    }
}

impl<E: CpuElem> Deref for CpuBuf<E> {
    type Target = [E];
    fn deref(&self) -> &[E] {
        &self.data
    }
}

impl<E: CpuElem> DerefMut for CpuBuf<E> {
    fn deref_mut(&mut self) -> &mut [E] {
        &mut self.data
    }
}

impl<E: CpuElem> Clone for CpuBuf<E> {
    fn clone(&self) -> Self {
        Self::from_slice(&self.data)
    }
}

impl<E: CpuElem> Drop for CpuBuf<E> {
    fn drop(&mut self) {
        give(std::mem::take(&mut self.data));
    }
}

impl<E: CpuElem> std::fmt::Debug for CpuBuf<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CpuBuf<{}>[{}]", E::NAME, self.data.len())
    }
}

/// The pools, one per element type.
pub(crate) static POOL_F32: Mutex<Pool<f32>> = Mutex::new(Pool::new());
pub(crate) static POOL_F64: Mutex<Pool<f64>> = Mutex::new(Pool::new());
