//! The device family: memory, host transfers and where kernels run. Every other family builds on
//! it (its `Elem` and `Storage` types).

use std::fmt::Debug;

use super::Elem;

/// A device handle with its buffer type: memory, uploads, downloads.
///
/// All buffers are flat and row-major; the other op families take them with descriptor structs
/// that give their sizes.
///
/// ```
/// use shapeflow_core::backend::Device;
/// fn zeros<B: Device>(dev: &B) -> Vec<B::Elem> { B::to_host(&dev.zeros(4)) }
/// assert_eq!(zeros(&shapeflow_cpu::Cpu::default()), vec![0.0; 4]);
/// ```
pub trait Device: Clone + Debug + Send + Sync + 'static {
    /// Element type of every buffer of this backend.
    type Elem: Elem;
    /// A device buffer.
    type Storage: Clone + Debug + Send + Sync;

    /// Short name for messages and summaries, e.g. `"cpu-f32"`.
    fn name(&self) -> String;
    /// A zero-filled buffer of `len` elements on this device.
    fn zeros(&self, len: usize) -> Self::Storage;
    /// Copies host data to this device.
    fn upload(&self, data: &[Self::Elem]) -> Self::Storage;
    /// A zero-filled buffer on the same device as `like`.
    fn zeros_like(like: &Self::Storage, len: usize) -> Self::Storage;
    /// Runs `f` where this backend's parallel kernels run best, and returns its result. The CPU
    /// backend runs it on one of its worker threads, so each kernel takes the calling thread
    /// along instead of leaving it asleep until the workers finish, and keeps another worker
    /// spinning on `f`'s kernels meanwhile (measured together: about +25 % on an MLP training
    /// step, +30 % on a small CNN); other backends run `f` in place. `fit` runs each training
    /// step this way; wrap each step of a hand-written training loop the same way.
    ///
    /// ```
    /// use shapeflow_core::backend::Device;
    /// use shapeflow_cpu::Cpu;
    /// assert_eq!(Cpu::on_workers(|| (1..=10).sum::<i32>()), 55);
    /// ```
    fn on_workers<R: Send>(f: impl FnOnce() -> R + Send) -> R
    where
        Self: Sized,
    {
        f()
    }
    /// A buffer on the same device as `like` whose contents are unspecified (but initialised):
    /// for outputs the caller overwrites completely. Defaults to [`Device::zeros_like`].
    fn scratch_like(like: &Self::Storage, len: usize) -> Self::Storage {
        Self::zeros_like(like, len)
    }
    /// Copies host data to the device that holds `like`.
    fn upload_like(like: &Self::Storage, data: &[Self::Elem]) -> Self::Storage;
    /// Copies a buffer back to the host.
    fn to_host(s: &Self::Storage) -> Vec<Self::Elem>;
    /// Number of elements in a buffer.
    fn len(s: &Self::Storage) -> usize;
    /// Sets every element to `v`.
    fn fill(s: &mut Self::Storage, v: Self::Elem);
}
