//! Skipped tests that say so in plain `cargo test` output.

/// Reports that the calling test is skipped and why, as `SKIPPED <test>: <why>` written straight
/// to the process's stderr: past the test harness's output capture, so the line shows in a plain
/// `cargo test` run (which counts the test as passed). Call it, then `return`, in a test that
/// needs what this machine lacks (a GPU, an MPI library, ONNX Runtime).
///
/// ```
/// fn gpu_only_test() {
///     let gpu_present = false;
///     if !gpu_present {
///         shapeflow_core::skip_test("no CUDA device (set SHAPEFLOW_REQUIRE_CUDA=1 to fail instead)");
///         return;
///     }
/// }
/// gpu_only_test();
/// ```
pub fn skip_test(why: impl std::fmt::Display) {
    let test = std::thread::current().name().unwrap_or("test").to_string();
    let line = format!("SKIPPED {test}: {why}\n");
    std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes()).ok();
}
