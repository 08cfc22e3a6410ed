//! The C ABI the page calls through `www/shapeflow.js`: buffers the page writes into, a
//! classifier, and the last error's message. WebAssembly runs it on one thread.

use std::cell::RefCell;

use crate::Classifier;

/// What the exports share: the classifier, the last outputs and the last error.
struct State {
    classifier: Classifier,
    output: Vec<f32>,
    error: String,
}

thread_local! {
    static STATE: RefCell<State> =
        RefCell::new(State { classifier: Classifier::new(), output: Vec::new(), error: String::new() });
}

/// A buffer of `len` bytes for the page to fill (freed with [`sf_free`]).
#[unsafe(no_mangle)]
pub extern "C" fn sf_alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len.max(1));
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// Frees a buffer of [`sf_alloc`].
///
/// # Safety
/// `ptr` and `len` must come from one call of `sf_alloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sf_free(ptr: *mut u8, len: usize) {
    // SAFETY: the caller passes a pointer and capacity `sf_alloc` returned.
    drop(unsafe { Vec::from_raw_parts(ptr, 0, len.max(1)) });
}

/// Records `r`'s error; 0 for success, 1 for an error (read it with `sf_error_*`).
fn status(r: Result<(), String>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            STATE.with(|s| s.borrow_mut().error = e);
            1
        }
    }
}

/// Loads a checkpoint from the `len` bytes at `ptr`.
///
/// # Safety
/// `ptr` must point at `len` initialised bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sf_load(ptr: *const u8, len: usize) -> i32 {
    // SAFETY: the caller guarantees `len` bytes at `ptr`.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    status(STATE.with(|s| s.borrow_mut().classifier.load(bytes)))
}

/// Classifies the `len` pixel values at `ptr` (a multiple of 784 `f32`s); the logits are then
/// at `sf_output_ptr`, `sf_output_len` of them.
///
/// # Safety
/// `ptr` must point at `len` initialised, aligned `f32`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sf_predict(ptr: *const f32, len: usize) -> i32 {
    // SAFETY: the caller guarantees `len` floats at `ptr`.
    let pixels = unsafe { std::slice::from_raw_parts(ptr, len) };
    status(STATE.with(|s| {
        let mut s = s.borrow_mut();
        let out = s.classifier.predict(pixels)?;
        s.output = out;
        Ok(())
    }))
}

/// Where the last logits are.
#[unsafe(no_mangle)]
pub extern "C" fn sf_output_ptr() -> *const f32 {
    STATE.with(|s| s.borrow().output.as_ptr())
}

/// How many logits the last call wrote.
#[unsafe(no_mangle)]
pub extern "C" fn sf_output_len() -> usize {
    STATE.with(|s| s.borrow().output.len())
}

/// Where the last error's UTF-8 message is.
#[unsafe(no_mangle)]
pub extern "C" fn sf_error_ptr() -> *const u8 {
    STATE.with(|s| s.borrow().error.as_ptr())
}

/// The last error's length in bytes.
#[unsafe(no_mangle)]
pub extern "C" fn sf_error_len() -> usize {
    STATE.with(|s| s.borrow().error.len())
}
