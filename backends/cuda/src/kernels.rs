//! The CUDA C kernel sources, compiled at run time by NVRTC (once per device) for the
//! [`Target`] [`crate::arch::choose`] picks.

use crate::arch::Target;

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
    ("strided.cu", include_str!("../kernels/strided.cu")),
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

/// A compiled kernel file, ready for `cuModuleLoadData`: CUBIN (an ELF image) or PTX text
/// ending in its NUL.
#[derive(Clone, Debug)]
pub struct Image {
    /// What it was built as.
    pub target: Target,
    /// The bytes the driver loads.
    pub bytes: Vec<u8>,
}

impl Image {
    /// The PTX text (`None` for CUBIN).
    ///
    /// ```
    /// use shapeflow_cuda::{arch::Target, kernels::Image};
    /// let img = Image { target: Target::Ptx(80), bytes: b".version 9.0\n\0".to_vec() };
    /// assert_eq!(img.ptx(), Some(".version 9.0\n"));
    /// ```
    pub fn ptx(&self) -> Option<&str> {
        match self.target {
            Target::Ptx(_) => {
                std::str::from_utf8(&self.bytes).ok().map(|t| t.trim_end_matches('\0'))
            }
            Target::Cubin(_) => None,
        }
    }
}

/// Compiles one source for `target` with [`BLOCK_DEFINE`]; the error holds NVRTC's log.
/// Needs NVRTC ([`nvrtc_present`]), not a GPU.
pub fn compile(name: &str, source: &str, target: Target) -> Result<Image, String> {
    use cudarc::nvrtc::{result, sys};
    let arch = target.nvrtc_arch();
    let fail = |what: &str| format!("{name} ({arch}): {what}");
    let src = std::ffi::CString::new(source).map_err(|_| fail("a NUL byte in the source"))?;
    let cname = std::ffi::CString::new(name).map_err(|_| fail("a NUL byte in the name"))?;
    let prog = result::create_program(&src, Some(&cname)).map_err(|e| fail(&format!("{e:?}")))?;
    let options = [format!("--gpu-architecture={arch}"), BLOCK_DEFINE.to_string()];
    // SAFETY: `prog` was created above and is destroyed once, below; the options are C strings.
    let compiled = unsafe { result::compile_program(prog, &options) };
    let out = match compiled {
        Err(_) => {
            // SAFETY: `prog` is live; NVRTC keeps the log of the failed compilation.
            let log = unsafe { result::get_program_log(prog) }.unwrap_or_default();
            let log: Vec<u8> = log.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
            Err(fail(&String::from_utf8_lossy(&log)))
        }
        Ok(()) => match target {
            // SAFETY: `prog` compiled; the size call reports the image's length.
            Target::Ptx(_) => unsafe { result::get_ptx(prog) }
                .map(|p| p.into_iter().map(|c| c as u8).collect())
                .map_err(|e| fail(&format!("nvrtcGetPTX: {e:?}"))),
            Target::Cubin(_) => {
                let mut size = 0usize;
                // SAFETY: `prog` compiled for a real architecture, so it holds a CUBIN.
                let sized = unsafe { sys::nvrtcGetCUBINSize(prog, &mut size) }.result();
                let mut bytes = vec![0u8; size];
                // SAFETY: `bytes` has the size NVRTC reported.
                let got = sized.and_then(|()| {
                    unsafe { sys::nvrtcGetCUBIN(prog, bytes.as_mut_ptr().cast()) }.result()
                });
                got.map(|()| bytes).map_err(|e| fail(&format!("nvrtcGetCUBIN: {e:?}")))
            }
        },
    };
    // SAFETY: destroyed once, after its last use.
    let _ = unsafe { result::destroy_program(prog) };
    Ok(Image { target, bytes: out? })
}

/// NVRTC's version, (major, minor).
///
/// ```
/// if shapeflow_cuda::kernels::nvrtc_present() {
///     let (major, _) = shapeflow_cuda::kernels::nvrtc_version().unwrap();
///     assert!(major >= 12);
/// }
/// ```
pub fn nvrtc_version() -> Result<(i32, i32), String> {
    let (mut major, mut minor) = (0, 0);
    // SAFETY: writes two ints; the caller checked the library loads.
    unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) }
        .result()
        .map_err(|e| format!("nvrtcVersion: {e:?}"))?;
    Ok((major, minor))
}

/// The architectures this NVRTC builds for (`nvrtcGetSupportedArchs`: 80 is sm_80).
///
/// ```
/// if shapeflow_cuda::kernels::nvrtc_present() {
///     assert!(shapeflow_cuda::kernels::supported_archs().unwrap().contains(&90));
/// }
/// ```
pub fn supported_archs() -> Result<Vec<i32>, String> {
    use cudarc::nvrtc::sys;
    let mut n = 0;
    // SAFETY: writes one int.
    unsafe { sys::nvrtcGetNumSupportedArchs(&mut n) }
        .result()
        .map_err(|e| format!("nvrtcGetNumSupportedArchs: {e:?}"))?;
    let mut archs = vec![0; n.max(0) as usize];
    // SAFETY: `archs` has the length NVRTC reported.
    unsafe { sys::nvrtcGetSupportedArchs(archs.as_mut_ptr()) }
        .result()
        .map_err(|e| format!("nvrtcGetSupportedArchs: {e:?}"))?;
    Ok(archs)
}

#[cfg(test)]
mod tests {
    /// The row kernels' warp is the launch shape's.
    #[test]
    fn the_warp_is_one_definition() {
        let rows = super::SOURCES.iter().find(|(f, _)| *f == "rows.cu").map(|(_, s)| *s);
        let define = format!("#define WARP {}", crate::shapes::WARP);
        assert!(rows.is_some_and(|s| s.contains(&define)), "rows.cu must `{define}`");
    }

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
