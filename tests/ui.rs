//! Compile-fail cases: every shape rule has a failing case (`tests/ui/*.rs` with its `.stderr`)
//! and a passing one (`tests/ui/pass/*.rs`). Refresh snapshots with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/*.rs");
}

/// Errors rustc lays out itself past 12 lines whatever the library does, pinned at their
/// current length so they can only get shorter: a build-time (`const`) check that fails while
/// code is generated for a hand-written call (E0080, reported by `cargo build`, not `cargo
/// check`), with rustc's notes on where the constant was used; and an unmet bound of `fit`,
/// whose first 8 lines are the library's message, label and note and the rest rustc's pointer
/// to the bound (7 lines) and to the macro the type came from.
const RUSTC_LAYOUT: &[(&str, usize)] = &[
    ("hand_written_conv_kernel_too_large.stderr", 15),
    ("view_element_counts_differ.stderr", 16),
    ("cat_stated_size_wrong.stderr", 16),
    ("fit_a_model_with_two_outputs.stderr", 21),
];

/// Every committed snapshot, as (file name, text).
fn snapshots() -> Vec<(String, String)> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir("tests/ui").expect("tests/ui exists") {
        let path = entry.expect("readable").path();
        if path.extension().is_some_and(|e| e == "stderr") {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            all.push((name, std::fs::read_to_string(&path).expect("readable")));
        }
    }
    assert!(all.len() >= 25, "the suite has {} compile-fail snapshots", all.len());
    all
}

/// Errors are part of the API: no committed message may show typenum's binary encoding.
#[test]
fn stderr_snapshots_never_show_binary_type_numbers() {
    for (name, text) in snapshots() {
        for bad in ["UInt<", "UTerm", "the full name for the type has been written to"] {
            assert!(!text.contains(bad), "tests/ui/{name} contains `{bad}`");
        }
    }
}

/// At most 12 lines per error, except the rustc layouts pinned above.
#[test]
fn stderr_snapshots_are_short() {
    for (name, text) in snapshots() {
        let budget = RUSTC_LAYOUT.iter().find(|(n, _)| *n == name).map_or(12, |(_, b)| *b);
        let mut errors: Vec<usize> = Vec::new();
        for line in text.lines() {
            if line.starts_with("error") {
                errors.push(0);
            }
            if let Some(n) = errors.last_mut() {
                *n += usize::from(!line.is_empty());
            }
        }
        for (i, n) in errors.iter().enumerate() {
            assert!(
                *n <= budget,
                "tests/ui/{name}: error {} has {n} lines (budget {budget})",
                i + 1
            );
        }
    }
}
