//! The CUDA C kernel sources, compiled at run time by NVRTC (once per device).

/// Every kernel file: `(file name, source, kernel names it defines)`.
pub const SOURCES: &[(&str, &str, &[&str])] = &[
    (
        "elementwise.cu",
        include_str!("../kernels/elementwise.cu"),
        &[
            "fill",
            "activation",
            "activation_backward",
            "mul",
            "sub",
            "axpy",
            "scale",
            "clamp",
            "mul_rows_broadcast",
            "dropout_mask",
            "sum",
            "sum_squares",
        ],
    ),
    (
        "linalg.cu",
        include_str!("../kernels/linalg.cu"),
        &["add_bias", "sum_rows", "add_channel_bias", "sum_channels", "transpose_blocks"],
    ),
    (
        "rows.cu",
        include_str!("../kernels/rows.cu"),
        &[
            "softmax_rows",
            "log_softmax_rows",
            "softmax_backward_rows",
            "log_softmax_backward_rows",
            "nll_sum",
            "softmax_minus_onehot",
            "neg_onehot",
            "bce_with_logits",
        ],
    ),
    ("conv.cu", include_str!("../kernels/conv.cu"), &["im2col", "col2im"]),
    (
        "pool.cu",
        include_str!("../kernels/pool.cu"),
        &["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"],
    ),
    (
        "norm.cu",
        include_str!("../kernels/norm.cu"),
        &[
            "channel_moments",
            "batch_norm_apply",
            "batch_norm_backward",
            "layer_norm",
            "layer_norm_backward",
            "layer_norm_param_grads",
        ],
    ),
    (
        "optim.cu",
        include_str!("../kernels/optim.cu"),
        &["adam_step", "sgd_step", "rmsprop_step", "adagrad_step"],
    ),
];

/// Whether NVRTC can be loaded here (it needs no GPU or driver).
///
/// ```
/// let _ = shapeflow_cuda::kernels::nvrtc_present();
/// ```
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to dlopen the NVRTC library and reports whether that worked.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// Compiles one source to PTX for `arch` (e.g. `"sm_80"`); the error holds NVRTC's log.
pub fn compile(name: &str, source: &str, arch: &'static str) -> Result<cudarc::nvrtc::Ptx, String> {
    let opts = cudarc::nvrtc::CompileOptions {
        arch: Some(arch),
        name: Some(name.to_string()),
        ..Default::default()
    };
    cudarc::nvrtc::compile_ptx_with_opts(source, opts).map_err(|e| match e {
        cudarc::nvrtc::CompileError::CompileError { log, .. } => {
            format!("{name} ({arch}): {}", log.to_string_lossy())
        }
        other => format!("{name} ({arch}): {other:?}"),
    })
}
