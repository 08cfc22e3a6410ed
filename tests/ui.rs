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
/// to the bound (7 lines) and to the macro the type came from; and the optimizer passed to
/// `fit` by value, where rustc adds to the library's message its pointer to the bound and its
/// own suggestion, which is the fix (`help: consider mutably borrowing here`, `&mut opt`).
const RUSTC_LAYOUT: &[(&str, usize)] = &[
    ("hand_written_conv_kernel_too_large.stderr", 15),
    ("view_element_counts_differ.stderr", 16),
    ("cat_stated_size_wrong.stderr", 16),
    ("fit_a_model_with_two_outputs.stderr", 21),
    ("fit_given_the_optimizer_by_value.stderr", 18),
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

#[path = "ui_support/follow_helps.rs"]
mod follow_helps;

/// Cases whose help is right but one step of two: following it makes the error's layer fit,
/// and a layer after it then reports its own error, with its own help.
const TWO_STEPS: &[(&str, &str)] = &[(
    "nested_model_input_does_not_fit",
    "the projection makes `block` fit; `block` then makes 8 channels, and `fc: Linear<16, 10>` after it says `write fc: Linear<8, 10>`",
)];

/// Every case whose errors all carry a literal edit compiles once the edits are made (but
/// those of [`TWO_STEPS`]): the edited sources are written under the test's scratch folder and
/// must build.
#[test]
fn following_each_literal_help_makes_the_case_compile() {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-helps-followed");
    std::fs::create_dir_all(&out).expect("a scratch folder");
    let mut followed = Vec::new();
    for (name, stderr) in snapshots() {
        let case = name.trim_end_matches(".stderr");
        let source = std::fs::read_to_string(format!("tests/ui/{case}.rs")).expect("its source");
        if TWO_STEPS.iter().any(|(c, _)| *c == case) {
            continue;
        }
        if let Some(edited) = follow_helps::followed(&source, &stderr) {
            std::fs::write(out.join(format!("{case}.rs")), edited).expect("written");
            followed.push(case.to_string());
        }
    }
    assert!(followed.len() >= 20, "only {} cases had literal helps: {followed:?}", followed.len());
    let t = trybuild::TestCases::new();
    for case in &followed {
        t.pass(out.join(format!("{case}.rs")));
    }
}

/// Snapshots that show a library type path (`shapeflow::Const<10>`) or point into the
/// library's sources, and why. Everywhere else the messages state shapes in decimal.
const TYPE_PATHS: &[(&str, &str)] = &[
    // The op set's shape rules are traits; `#[diagnostic::on_unimplemented]` can print the
    // operands only as their types, so sizes read `Const<10>` in its messages.
    ("add_shapes_differ", OP_SET),
    ("batched_matmul_inner_sizes_differ", OP_SET),
    ("broadcast_sizes_differ", OP_SET),
    ("cat_other_axes_differ", OP_SET),
    ("cat_stated_size_wrong", OP_SET),
    ("matmul_inner_dims_differ", OP_SET),
    ("permute_not_a_permutation", OP_SET),
    ("reduce_axis_out_of_range", OP_SET),
    ("squeeze_axis_not_one", OP_SET),
    ("unsqueeze_past_the_end", OP_SET),
    ("view_element_counts_differ", OP_SET),
    ("hand_written_conv_kernel_too_large", OP_SET),
    ("mse_between_different_shapes", OP_SET),
    // Calls checked by the type system: the library's message is first and in decimal, and
    // rustc adds its own `help: the trait … is not implemented for …` with the types, and
    // `note: required by a bound in …` with the bound's source.
    ("chained_models_do_not_meet", RUSTC),
    ("derive_init_tensor_without_a_start", RUSTC),
    ("custom_layer_input_does_not_fit", RUSTC),
    ("custom_layer_stated_output_is_wrong", RUSTC),
    ("fit_a_model_with_two_outputs", RUSTC),
    ("fit_given_the_optimizer_by_value", RUSTC),
    ("image_model_called_with_wrong_shape", RUSTC),
    ("loss_labels_for_another_class_count", RUSTC),
    ("model_called_with_wrong_rank", RUSTC),
    ("model_called_with_wrong_shape", RUSTC),
    ("model_on_f64_called_with_f32", RUSTC),
    ("optimizer_for_another_model", RUSTC),
    ("optimizer_given_gradients_of_another_model", RUSTC),
    ("several_inputs_given_in_another_order", RUSTC),
];
const OP_SET: &str = "the op set's rules print their operands as types";
const RUSTC: &str = "rustc's own help and note lines name the types and the bound's source";

/// No snapshot shows `Const<`, `typenum` or a path into the library's sources but those
/// listed (with why) in [`TYPE_PATHS`]; a listed one that no longer shows any is removed.
#[test]
fn type_paths_appear_only_where_listed() {
    for (name, text) in snapshots() {
        let case = name.trim_end_matches(".stderr");
        let shows = ["Const<", "typenum", "core/src/"].iter().any(|p| text.contains(p));
        let listed = TYPE_PATHS.iter().any(|(c, _)| *c == case);
        assert_eq!(shows, listed, "tests/ui/{name}: shows type paths: {shows}, listed: {listed}");
    }
}
