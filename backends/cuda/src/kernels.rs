//! The CUDA C kernel sources, compiled at run time by NVRTC (once per device).

/// Every kernel file: `(file name, source)`, one per op family (`src/<family>.rs` launches
/// them). The kernels a file defines are its `extern "C" __global__` functions
/// ([`kernel_names`]), so adding a kernel is an edit of its `.cu` file only.
pub const SOURCES: &[(&str, &str)] = &[
    ("elementwise.cu", include_str!("../kernels/elementwise.cu")),
    ("linalg.cu", include_str!("../kernels/linalg.cu")),
    ("rows.cu", include_str!("../kernels/rows.cu")),
    ("conv.cu", include_str!("../kernels/conv.cu")),
    ("pool.cu", include_str!("../kernels/pool.cu")),
    ("norm.cu", include_str!("../kernels/norm.cu")),
    ("optim.cu", include_str!("../kernels/optim.cu")),
    ("sequence.cu", include_str!("../kernels/sequence.cu")),
];

/// The kernels `source` defines: the name of every `extern "C" __global__ void name(`.
///
/// ```
/// let src = "extern \"C\" __global__ void scale(float* x) {}\n__device__ float h() {}";
/// assert_eq!(shapeflow_cuda::kernels::kernel_names(src), ["scale"]);
/// ```
pub fn kernel_names(source: &str) -> Vec<&str> {
    const HEAD: &str = "extern \"C\" __global__ void ";
    source
        .match_indices(HEAD)
        .filter_map(|(at, _)| {
            let rest = &source[at + HEAD.len()..];
            let name = &rest[..rest.find('(')?];
            let ok =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            ok.then_some(name)
        })
        .collect()
}

/// Whether NVRTC can be loaded here (it needs no GPU or driver).
///
/// ```
/// let _ = shapeflow_cuda::kernels::nvrtc_present();
/// ```
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to dlopen the NVRTC library and reports whether that worked.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// The threads per block of every launch, defined for the kernels as `SHAPEFLOW_BLOCK` (their
/// shared-memory reductions are sized by it).
///
/// ```
/// assert_eq!(shapeflow_cuda::kernels::BLOCK_DEFINE, "-DSHAPEFLOW_BLOCK=256");
/// ```
pub const BLOCK_DEFINE: &str = "-DSHAPEFLOW_BLOCK=256";

/// Compiles one source to PTX for `arch` (e.g. `"sm_80"`), with [`BLOCK_DEFINE`]; the error
/// holds NVRTC's log.
pub fn compile(name: &str, source: &str, arch: &'static str) -> Result<cudarc::nvrtc::Ptx, String> {
    let opts = cudarc::nvrtc::CompileOptions {
        arch: Some(arch),
        name: Some(name.to_string()),
        options: vec![BLOCK_DEFINE.to_string()],
        ..Default::default()
    };
    cudarc::nvrtc::compile_ptx_with_opts(source, opts).map_err(|e| match e {
        cudarc::nvrtc::CompileError::CompileError { log, .. } => {
            format!("{name} ({arch}): {}", log.to_string_lossy())
        }
        other => format!("{name} ({arch}): {other:?}"),
    })
}

#[cfg(test)]
mod tests {
    /// The define and the launches agree, and no kernel sizes a reduction by a literal.
    #[test]
    fn the_block_size_is_one_definition() {
        assert_eq!(super::BLOCK_DEFINE, format!("-DSHAPEFLOW_BLOCK={}", crate::shapes::BLOCK));
        for (file, src) in super::SOURCES {
            assert!(!src.contains("[256]"), "{file} sizes an array by a literal block size");
            if src.contains("SHAPEFLOW_BLOCK]") {
                assert!(
                    src.contains("#ifndef SHAPEFLOW_BLOCK"),
                    "{file} uses the define unguarded"
                );
            }
        }
    }
}
