//! Compile-fail cases: every shape rule has a failing case (`tests/ui/*.rs` with its `.stderr`)
//! and a passing one (`tests/ui/pass/*.rs`). Refresh snapshots with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/*.rs");
}

/// Errors rustc lays out itself (E0277, E0308, E0080: a trait bound, a type mismatch, a failed
/// build-time check), which run past 12 lines however the message is worded: rustc adds the
/// "required by a bound in …" and "but it is implemented for …" notes with their source
/// snippets. Each is pinned at its current length so it can only get shorter. Every error
/// `model!` reports itself stays within 12 lines.
const RUSTC_LAYOUT: &[(&str, usize)] = &[
    ("add_shapes_differ.stderr", 14),
    ("chained_models_do_not_meet.stderr", 20),
    ("custom_layer_input_does_not_fit.stderr", 13),
    ("hand_written_conv_kernel_too_large.stderr", 19),
    ("loss_labels_for_another_class_count.stderr", 20),
    ("matmul_inner_dims_differ.stderr", 15),
    ("model_called_with_wrong_rank.stderr", 20),
    ("model_called_with_wrong_shape.stderr", 20),
    ("mse_between_different_shapes.stderr", 14),
    ("optimizer_for_another_model.stderr", 25),
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
