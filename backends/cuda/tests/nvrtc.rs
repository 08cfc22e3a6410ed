//! Every kernel source compiles through NVRTC to CUBIN for sm_80 and sm_90 and to PTX (the
//! fallback), with no GPU and no driver.
//! `.ci/run` installs NVRTC from the Python package index and points `LD_LIBRARY_PATH` at it;
//! where NVRTC cannot be loaded the test prints why and checks nothing else, unless
//! `SHAPEFLOW_REQUIRE_NVRTC` is set (as `.ci/run` and `gpu-check/run.sh` set it): then it fails.

use shapeflow_cuda::arch::{Target, Versions, choose};
use shapeflow_cuda::kernels::{
    SOURCES, compile, kernel_names, nvrtc_present, nvrtc_version, supported_archs,
};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn every_kernel_compiles_for_sm80_and_sm90() {
    if !nvrtc_present() {
        assert!(
            std::env::var("SHAPEFLOW_REQUIRE_NVRTC").is_err(),
            "SHAPEFLOW_REQUIRE_NVRTC is set but NVRTC (libnvrtc.so) cannot be loaded; check LD_LIBRARY_PATH"
        );
        shapeflow_core::skip_test(
            "NVRTC (libnvrtc.so) cannot be loaded; put it on LD_LIBRARY_PATH (`pip install nvidia-cuda-nvrtc`, as .ci/run does)",
        );
        return;
    }
    let mut failures = Vec::new();
    for target in [Target::Cubin(80), Target::Cubin(90), Target::Ptx(80)] {
        for (name, source) in SOURCES {
            match compile(name, source, target) {
                Ok(image) => {
                    let elf = image.bytes.starts_with(b"\x7fELF");
                    if matches!(target, Target::Cubin(_)) != elf {
                        failures.push(format!("{name} ({target}): ELF image {elf}"));
                    }
                    for k in kernel_names(source) {
                        let found = match image.ptx() {
                            Some(text) => text.contains(&format!(".entry {k}(")),
                            None => contains(&image.bytes, format!("{k}\0").as_bytes()),
                        };
                        if !found {
                            failures.push(format!("{name} ({target}): no kernel `{k}`"));
                        }
                    }
                }
                Err(log) => failures.push(log),
            }
        }
    }
    assert!(failures.is_empty(), "NVRTC failures:\n{}", failures.join("\n"));
    let total: usize = SOURCES.iter().map(|(_, s)| kernel_names(s).len()).sum();
    assert!(total >= 40, "only {total} kernels found in the sources");
    println!("compiled {} kernel files to CUBIN for sm_80 and sm_90 and to PTX", SOURCES.len());
}

/// This NVRTC reports its version and architectures, and a 9.0 device gets its own CUBIN.
#[test]
fn nvrtc_reports_its_version_and_architectures() {
    if !nvrtc_present() {
        shapeflow_core::skip_test(
            "NVRTC (libnvrtc.so) cannot be loaded; put it on LD_LIBRARY_PATH (`pip install nvidia-cuda-nvrtc`, as .ci/run does)",
        );
        return;
    }
    let version = nvrtc_version().unwrap();
    let archs = supported_archs().unwrap();
    assert!(archs.contains(&80) && archs.contains(&90), "{archs:?}");
    let v = Versions { nvrtc: version, driver: version };
    assert_eq!(choose((9, 0), &archs, v), Ok(Target::Cubin(90)));
    println!("NVRTC {}.{} builds for {archs:?}", version.0, version.1);
}

#[test]
fn a_broken_kernel_is_reported_with_nvrtc_s_log() {
    if !nvrtc_present() {
        shapeflow_core::skip_test(
            "NVRTC (libnvrtc.so) cannot be loaded; put it on LD_LIBRARY_PATH (`pip install nvidia-cuda-nvrtc`, as .ci/run does)",
        );
        return;
    }
    let e = compile(
        "broken.cu",
        "extern \"C\" __global__ void f(float* x) { x[0] = undefined_name; }",
        Target::Cubin(80),
    )
    .expect_err("an undefined identifier does not compile");
    assert!(e.contains("broken.cu (sm_80)") && e.contains("undefined_name"), "{e}");
}
