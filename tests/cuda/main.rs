//! The op and layer suite on CUDA, against the CPU backend (TF32 off: within 1e-4 relative).
//! Without a GPU (or without the `cuda` feature) every test prints why it skips.

#[cfg(feature = "cuda")]
mod graph;
#[cfg(feature = "cuda")]
mod large;
#[cfg(feature = "cuda")]
mod on_gpu;
#[cfg(feature = "cuda")]
mod ops;
#[cfg(feature = "cuda")]
mod runtime;

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_suite_needs_the_cuda_feature() {
    shapeflow::skip_test("build with `--features cuda` (and a GPU) to run the CUDA suite");
}
