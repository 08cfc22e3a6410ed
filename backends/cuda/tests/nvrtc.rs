//! Every kernel source compiles through NVRTC for sm_80 and sm_90, with no GPU and no driver.
//! `.ci/run` installs NVRTC from the Python package index and points `LD_LIBRARY_PATH` at it;
//! where NVRTC cannot be loaded the test prints why and checks nothing else, unless
//! `SHAPEFLOW_REQUIRE_NVRTC` is set (as `.ci/run` and `gpu-check/run.sh` set it): then it fails.

use shapeflow_cuda::kernels::{SOURCES, compile, kernel_names, nvrtc_present};

#[test]
fn every_kernel_compiles_for_sm80_and_sm90() {
    if !nvrtc_present() {
        assert!(
            std::env::var("SHAPEFLOW_REQUIRE_NVRTC").is_err(),
            "SHAPEFLOW_REQUIRE_NVRTC is set but NVRTC (libnvrtc.so) cannot be loaded; check LD_LIBRARY_PATH"
        );
        println!(
            "skipped: NVRTC (libnvrtc.so) cannot be loaded; set LD_LIBRARY_PATH (see .ci/run)"
        );
        return;
    }
    let mut failures = Vec::new();
    for arch in ["sm_80", "sm_90"] {
        for (name, source) in SOURCES {
            match compile(name, source, arch) {
                Ok(ptx) => {
                    let text = ptx.to_src();
                    for k in kernel_names(source) {
                        if !text.contains(&format!(".entry {k}(")) {
                            failures.push(format!("{name} ({arch}): no kernel `{k}` in the PTX"));
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
    println!("compiled {} kernel files for sm_80 and sm_90", SOURCES.len());
}

#[test]
fn a_broken_kernel_is_reported_with_nvrtc_s_log() {
    if !nvrtc_present() {
        println!("skipped: NVRTC (libnvrtc.so) cannot be loaded");
        return;
    }
    let e = compile(
        "broken.cu",
        "extern \"C\" __global__ void f(float* x) { x[0] = undefined_name; }",
        "sm_80",
    )
    .expect_err("an undefined identifier does not compile");
    assert!(e.contains("broken.cu (sm_80)") && e.contains("undefined_name"), "{e}");
}
