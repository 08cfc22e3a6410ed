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
fn a_label_error_for_one_class_says_class() {
    let err = shapeflow::Error::Label { index: 2, label: 1, classes: 1 }.to_string();
    assert_eq!(err, "label 1 at batch position 2 is outside 0..1 (the model has 1 class)");
}
