//! cross_entropy: PyTorch values, gradient check, label errors.

use shapeflow::prelude::*;

use crate::support::{assert_close, check_loss, fixture, input, nums};

fn labels() -> Vec<usize> {
    let f = fixture();
    f["labels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect()
}

#[test]
fn cross_entropy_matches_pytorch() {
    let f = fixture();
    let dev = Cpu64::default();
    let logits =
        Tensor::<(Dyn, Const<4>), Cpu64>::from_vec(&dev, &[3, 4], nums(&f["logits"])).unwrap();
    let (loss, grad) = cross_entropy(&logits, &labels()).unwrap();
    let want = &f["losses"]["cross_entropy"];
    assert_close("ce loss", &[loss], &[want["loss"].as_f64().unwrap()], 1e-12, 0.0);
    assert_close("ce grad", &grad.to_vec(), &nums(&want["grad"]), 1e-12, 1e-15);
}

#[test]
fn cross_entropy_gradient_check() {
    let x = input::<(Dyn, Const<5>)>(&[4, 5], 11);
    check_loss("cross_entropy", &x, |p| cross_entropy(p, &[0, 4, 2, 2]));
}

#[test]
fn cross_entropy_rejects_bad_labels() {
    let dev = Cpu::default();
    let logits = Tensor::<(Dyn, Const<4>), Cpu>::from_batch(&dev, 2, vec![0.0; 8]).unwrap();
    let e = cross_entropy(&logits, &[1, 4]).expect_err("label 4 of 4 classes");
    assert_eq!(
        e.to_string(),
        "label 4 at batch position 1 is outside 0..4 (the model has 4 classes)"
    );
    let e = cross_entropy(&logits, &[1]).expect_err("one label for two rows");
    assert!(e.to_string().contains("expected 2"), "{e}");
}

#[test]
fn cross_entropy_reports_nan_as_an_error() {
    let dev = Cpu::default();
    let logits = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 1, vec![f32::NAN, 0.0]).unwrap();
    let e = cross_entropy(&logits, &[0]).expect_err("NaN loss");
    assert!(e.to_string().contains("NaN"), "{e}");
}

#[test]
fn a_label_error_for_one_output_says_what_to_use() {
    let err = shapeflow::Error::Label { index: 2, label: 1, classes: 1 }.to_string();
    assert!(err.starts_with("label 1 at batch position 2 is outside 0..1: a model with one output is a binary classifier; train it with `LossFn::BceWithLogits`"), "{err}");
    let err = shapeflow::Error::Label { index: 0, label: 7, classes: 3 };
    assert_eq!(
        format!("{err:?}"),
        "label 7 at batch position 0 is outside 0..3 (the model has 3 classes)"
    );
}

/// Per-step cross-entropy on a ragged batch against PyTorch's `ignore_index` on the padded
/// targets, and against finite differences.
#[test]
fn cross_entropy_steps_matches_pytorch_and_finite_differences() {
    let f = crate::support::sequence_fixture();
    let case = &f["cross_entropy_steps"];
    let dev = Cpu64::default();
    let lengths: Vec<usize> = nums(&case["lengths"]).into_iter().map(|v| v as usize).collect();
    let labels: Vec<Vec<usize>> = case["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| nums(l).into_iter().map(|v| v as usize).collect())
        .collect();
    let data = nums(&case["logits"]);
    let x = Tensor::<(Dyn, Dyn, Const<5>), Cpu64>::from_padded(
        &dev,
        &[3, 4, 5],
        data.clone(),
        &lengths,
    )
    .unwrap();
    let (loss, grad) = cross_entropy_steps(&x, &labels).unwrap();
    assert!((loss - case["loss"].as_f64().unwrap()).abs() < 1e-12);
    crate::support::assert_close("dlogits", &grad.to_vec(), &nums(&case["grad"]), 1e-12, 1e-12);
    let at = |i: usize, d: f64| {
        let mut v = x.to_vec();
        v[i] += d;
        let t = Tensor::<(Dyn, Dyn, Const<5>), Cpu64>::from_padded(&dev, &[3, 4, 5], v, &lengths)
            .unwrap();
        cross_entropy_steps(&t, &labels).unwrap().0
    };
    let numeric: Vec<f64> = (0..data.len()).map(|i| (at(i, 1e-6) - at(i, -1e-6)) / 2e-6).collect();
    crate::support::assert_close("d/dlogits", &grad.to_vec(), &numeric, 1e-6, 1e-7);
    let short = vec![vec![0; 4], vec![0; 1], vec![0; 3]];
    let err = cross_entropy_steps(&x, &short).unwrap_err().to_string();
    assert!(err.contains("sequence 1") && err.contains("expected 2"), "{err}");
    let bad = vec![vec![0; 4], vec![0, 7], vec![0; 3]];
    let err = cross_entropy_steps(&x, &bad).unwrap_err().to_string();
    assert!(err.contains("label 7 at step 1 of sequence 1"), "{err}");
}

/// One logit per sample: cross-entropy would be 0 whatever the logit and train nothing, so it
/// is an `Err` that names the loss to use, in the function and in `fit`.
#[test]
fn cross_entropy_over_one_class_is_an_error_that_names_bce() {
    let dev = Cpu::default();
    let logits = Tensor::<(Dyn, Const<1>), Cpu>::from_batch(&dev, 2, vec![0.3, -1.0]).unwrap();
    let e = cross_entropy(&logits, &[0, 0]).unwrap_err().to_string();
    assert!(e.contains("`LossFn::BceWithLogits` in `fit`"), "{e}");
    let steps =
        Tensor::<(Dyn, Dyn, Const<1>), Cpu>::from_vec(&dev, &[1, 2, 1], vec![0.1, 0.2]).unwrap();
    assert!(cross_entropy_steps(&steps, &[vec![0, 0]]).is_err());

    model! {
        pub struct OneLogit {
            input: [4],
            fc: Linear<4, 1>,
        }
    }
    let mut model = OneLogit::<Cpu>::new(&dev, 0);
    let data = shapeflow::data::Dataset::new(vec![0.5; 8], vec![0, 0], 4).unwrap();
    let mut opt = Adam::new(&model, AdamConfig::default());
    let cfg = FitConfig { verbosity: Verbosity::Quiet, ..Default::default() };
    let e = fit(&mut model, &mut opt, &dev, &data, &cfg, &mut []).unwrap_err().to_string();
    assert!(e.contains("cross-entropy over 1 class"), "{e}");
}
