//! `CpuBuf`: the CPU backend's storage, a `Vec` whose memory goes back to a per-type pool when
//! dropped, so a training step reuses the previous step's buffers instead of asking the system
//! allocator for fresh (page-faulting, zero-filled) memory every time. Clones share the memory
//! and copy it on the first write (a layer's cache keeps its input without copying it).

use std::collections::BTreeMap;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use crate::CpuElem;

/// Freed buffers by length, with the bytes they hold. Each is kept with its reference count
/// (no clone left), so taking one allocates nothing.
pub struct Pool<E> {
    free: BTreeMap<usize, Vec<Arc<Vec<E>>>>,
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

fn take<E: CpuElem>(len: usize) -> Option<Arc<Vec<E>>> {
    if len < MIN_POOLED_LEN {
        return None;
    }
    let mut pool = E::pool().lock().ok()?;
    let list = pool.free.get_mut(&len)?;
    let v = list.pop()?;
    pool.bytes -= len * size_of::<E>();
    Some(v)
}

/// Pools `v`, which no clone shares any more.
fn give<E: CpuElem>(v: Arc<Vec<E>>) {
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

/// A contiguous buffer of `E` on the CPU. A clone shares the values until one of the two is
/// written to, which copies them then (copy on write).
///
/// ```
/// use shapeflow_cpu::CpuBuf;
/// let b = CpuBuf::<f32>::zeros(3);
/// let mut c = b.clone(); // no copy yet
/// c[1] = 2.0; // c copies the values before the write; b is unchanged
/// assert_eq!((&b[..], &c[..]), (&[0.0, 0.0, 0.0][..], &[0.0, 2.0, 0.0][..]));
/// ```
pub struct CpuBuf<E: CpuElem> {
    /// Taken out only by `drop`.
    data: ManuallyDrop<Arc<Vec<E>>>,
}

impl<E: CpuElem> CpuBuf<E> {
    /// A zero-filled buffer.
    pub fn zeros(len: usize) -> Self {
        let mut b = Self::scratch(len);
        b.fill(E::zero());
        b
    }

    /// A buffer whose contents are unspecified (old values of a pooled buffer, or zeros); for
    /// outputs every element of which the caller overwrites.
    pub fn scratch(len: usize) -> Self {
        let pooled = take::<E>(len);
        shapeflow_core::profile::buffer_taken(len * size_of::<E>(), pooled.is_none());
        let data = pooled.unwrap_or_else(|| Arc::new(vec![E::zero(); len]));
        CpuBuf { data: ManuallyDrop::new(data) }
    }

    /// A copy of `values`.
    pub fn from_slice(values: &[E]) -> Self {
        let mut b = Self::scratch(values.len());
        b.copy_from_slice(values);
        b
    }

    /// Whether `self` and `other` share their values (a clone neither has written to since).
    ///
    /// ```
    /// use shapeflow_cpu::CpuBuf;
    /// let b = CpuBuf::<f32>::zeros(2);
    /// let c = b.clone();
    /// assert!(b.shares(&c) && !b.shares(&CpuBuf::zeros(2)));
    /// ```
    pub fn shares(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
    }
}

impl<E: CpuElem> Deref for CpuBuf<E> {
    type Target = [E];
    fn deref(&self) -> &[E] {
        &self.data
    }
}

impl<E: CpuElem> DerefMut for CpuBuf<E> {
    /// The values to write; copied first (from the pool) when a clone still shares them.
    fn deref_mut(&mut self) -> &mut [E] {
        if Arc::get_mut(&mut self.data).is_none() {
            let fresh = Self::from_slice(&self.data);
            *self = fresh;
        }
        // Unique now, so `make_mut` clones nothing.
        Arc::make_mut(&mut *self.data).as_mut_slice()
    }
}

impl<E: CpuElem> Clone for CpuBuf<E> {
    fn clone(&self) -> Self {
        CpuBuf { data: ManuallyDrop::new(Arc::clone(&self.data)) }
    }
}

impl<E: CpuElem> Drop for CpuBuf<E> {
    /// The last of the clones gives the memory back to the pool.
    fn drop(&mut self) {
        // SAFETY: `data` is not used after this (we are in `drop`) and is taken only here.
        let mut data = unsafe { ManuallyDrop::take(&mut self.data) };
        if Arc::get_mut(&mut data).is_some() {
            give(data);
        }
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
