//! Compile-fail cases: every shape rule has a failing case (`tests/ui/*.rs` with its `.stderr`)
//! and a passing one (`tests/ui/pass/*.rs`). Refresh snapshots with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/*.rs");
}

/// Type-level rules in hand-written code, whose messages still print typenum's binary form:
/// rustc names the unsatisfied trait with the full types. Readable messages for these are the
/// shape-errors issue's work; each case stays in the suite so the change will be visible.
const KNOWN_BINARY: &[&str] = &[
    "add_shapes_differ.stderr",
    "matmul_inner_dims_differ.stderr",
    "hand_written_conv_kernel_too_large.stderr",
];

/// Errors are part of the API: no committed message may show typenum's binary encoding.
#[test]
fn stderr_snapshots_never_show_binary_type_numbers() {
    for entry in std::fs::read_dir("tests/ui").expect("tests/ui exists") {
        let path = entry.expect("readable").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if path.extension().is_some_and(|e| e == "stderr") && !KNOWN_BINARY.contains(&name) {
            let text = std::fs::read_to_string(&path).expect("readable");
            for bad in ["UInt<", "UTerm", "the full name for the type has been written to"] {
                assert!(!text.contains(bad), "{} contains `{bad}`", path.display());
            }
        }
    }
}
