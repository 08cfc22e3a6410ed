//! Heap allocations of a steady-state training step, counted by a global allocator on W2's MLP
//! step and W3's CNN step (forward, loss, generated backward, Adam) after warm-up.
//!
//! Our side allocates nothing per step (buffers come from the backend's pool, outputs are
//! scratch buffers, optimizer state is allocated once). What remains are the matrix products:
//! `gemm` 0.19 allocates its packing buffer (and a small flag vector, one per worker) inside
//! every call, 2–4 allocations per product. The target is zero; this test pins the
//! current bound, so any allocation added outside the products fails it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use shapeflow::prelude::*;

/// Counts the allocations of the thread that measures and of rayon's workers (where the
/// kernels run). Other threads are left out: libtest's main thread allocates while it reports
/// another test's result, which would otherwise be counted at random.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the thread that runs `allocations`.
    static MEASURING: Cell<bool> = const { Cell::new(false) };
}

/// Whether an allocation made on this thread belongs to the step being measured.
fn counted() -> bool {
    MEASURING.with(Cell::get) || rayon::current_thread_index().is_some()
}

fn count() {
    if counted() {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter has no effect
// on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

model! {
    /// W2's MLP.
    pub struct Mlp {
        input: [784],
        fc1: Linear<784, 512>,
        act1: Relu,
        fc2: Linear<512, 256>,
        act2: Relu,
        fc3: Linear<256, 10>,
    }
}

model! {
    /// W3's CNN.
    pub struct Cnn {
        input: [1, 28, 28],
        conv1: Conv2d<1, 8, 3>,
        act1: Relu,
        pool1: MaxPool2d<2>,
        conv2: Conv2d<8, 16, 3>,
        act2: Relu,
        pool2: MaxPool2d<2>,
        flat: Flatten,
        fc: Linear<400, 10>,
    }
}

/// The counter is global: tests in this file take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Allocations made by `steps` calls of `step` after `warmup` calls.
fn allocations(warmup: usize, steps: usize, mut step: impl FnMut()) -> usize {
    for _ in 0..warmup {
        step();
    }
    MEASURING.with(|m| m.set(true));
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..steps {
        step();
    }
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    MEASURING.with(|m| m.set(false));
    after - before
}

/// At most this many allocations per matrix product (`gemm`'s packing buffer, its flag
/// vector, one per extra worker) plus one (rayon's scheduler, now and then).
const PER_PRODUCT: usize = 4;

#[test]
fn steady_state_training_steps_allocate_only_inside_matrix_products() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Cpu::default();
    let labels: Vec<usize> = (0..128).map(|i| i % 10).collect();
    let steps = 10;

    let mut mlp = Mlp::<Cpu>::new(&dev, 0);
    let mut adam = Adam::new(&mlp, AdamConfig::default());
    let x = MlpInput::<Cpu>::randn(&dev, &[128, 784], 0.0, 1.0, 1).unwrap();
    let w2 = allocations(5, steps, || {
        let (y, cache) = mlp.forward_train(&x);
        let (_, dy) = cross_entropy(&y, &labels).unwrap();
        let grads = mlp.backward(&cache, &dy).unwrap();
        adam.step(&mut mlp, &grads).unwrap();
    });
    // 3 products forward, 2 per layer backward (weight and input gradients).
    let w2_products = 3 + 6;

    let mut cnn = Cnn::<Cpu>::new(&dev, 0);
    let mut adam = Adam::new(&cnn, AdamConfig::default());
    let x = CnnInput::<Cpu>::randn(&dev, &[64, 1, 28, 28], 0.0, 1.0, 2).unwrap();
    let w3 = allocations(5, steps, || {
        let (y, cache) = cnn.forward_train(&x);
        let (_, dy) = cross_entropy(&y, &labels[..64]).unwrap();
        let grads = cnn.backward(&cache, &dy).unwrap();
        adam.step(&mut cnn, &grads).unwrap();
    });
    // The CPU backend convolves sample by sample (`conv_samples.rs`): one product per sample
    // for each convolution forward (2 × 64) and for each weight gradient (2 × 64), one more per
    // sample for conv2's input gradient (conv1, the first layer, needs none); the linear layer
    // has 1 forward and 2 backward.
    // Single-threaded products allocate at most 2 (the packing buffer, now and then its flag).
    let (w3_per_sample, w3_batched) = (2 * 64 + 2 * 64 + 64, 3);

    println!("allocations per step: W2 {:.1}, W3 {:.1}", w2 as f64 / 10.0, w3 as f64 / 10.0);
    assert!(w2 <= steps * (w2_products * PER_PRODUCT + 1), "W2: {w2} allocations in {steps} steps");
    let w3_bound = w3_per_sample * 2 + w3_batched * PER_PRODUCT + 1;
    assert!(w3 <= steps * w3_bound, "W3: {w3} allocations in {steps} steps");
}

/// A step's phases without matrix products (the loss) allocate nothing at all.
#[test]
fn the_loss_allocates_nothing() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Cpu::default();
    let labels: Vec<usize> = (0..128).map(|i| i % 10).collect();
    let y = Tensor::<(Dyn, Const<10>), Cpu>::randn(&dev, &[128, 10], 0.0, 1.0, 3).unwrap();
    let n = allocations(3, 10, || {
        let (loss, dy) = cross_entropy(&y, &labels).unwrap();
        std::hint::black_box((loss, dy));
    });
    assert_eq!(n, 0, "allocations in 10 cross-entropy evaluations");
}
