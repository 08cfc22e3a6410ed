//! LastStep and MeanOverTime: values against PyTorch (masked means, each sample's last step,
//! a bidirectional LSTM's `h_n`), gradient checks on ragged batches.

use shapeflow::prelude::*;

use crate::support::{assert_close, check_layer, load_named, nums, sequence_fixture};

#[test]
fn means_and_last_steps_match_pytorch() {
    let f = sequence_fixture();
    let case = &f["mean"];
    let dev = Cpu64::default();
    let lengths: Vec<usize> = nums(&case["lengths"]).into_iter().map(|v| v as usize).collect();
    let x = Tensor::<(Dyn, Dyn, Const<2>), Cpu64>::from_padded(
        &dev,
        &[3, 4, 2],
        nums(&case["x"]),
        &lengths,
    )
    .unwrap();
    assert_close("mean", &MeanOverTime.forward(&x).to_vec(), &nums(&case["mean"]), 1e-12, 1e-12);
    assert_close(
        "last",
        &LastStep::default().forward(&x).to_vec(),
        &nums(&case["last"]),
        1e-12,
        1e-12,
    );
}

#[test]
fn last_step_of_a_bidirectional_lstm_is_pytorchs_h_n() {
    let f = sequence_fixture();
    let case = &f["lstm"][0];
    let dev = Cpu64::default();
    let lengths: Vec<usize> = nums(&case["lengths"]).into_iter().map(|v| v as usize).collect();
    let mut lstm = Lstm::<Const<3>, Const<4>, Const<8>, 2, Cpu64>::init(&dev, &mut Rng::new(0));
    load_named(&mut lstm, &case["params"]);
    let x = Tensor::<(Dyn, Dyn, Const<3>), Cpu64>::from_padded(
        &dev,
        &[3, 5, 3],
        nums(&case["x"]),
        &lengths,
    )
    .unwrap();
    let h = LastStep { bidirectional: true }.forward(&lstm.forward(&x));
    assert_close("h_n", &h.to_vec(), &nums(&case["last"]), 1e-10, 1e-10);
}

#[test]
fn time_pool_gradient_checks() {
    let dev = Cpu64::default();
    let mut rng = Rng::new(4);
    let seqs: Vec<Vec<f64>> =
        [2usize, 4, 1].iter().map(|&n| (0..n * 4).map(|_| rng.normal()).collect()).collect();
    let x = Tensor::<(Dyn, Dyn, Const<4>), Cpu64>::from_sequences(&dev, &seqs).unwrap();
    check_layer("MeanOverTime", &mut MeanOverTime, &x);
    check_layer("LastStep", &mut LastStep::default(), &x);
    check_layer("LastStep bidirectional", &mut LastStep { bidirectional: true }, &x);
}

#[test]
fn per_step_linear_keeps_lengths_and_checks_gradients() {
    let dev = Cpu64::default();
    let mut rng = Rng::new(6);
    let seqs: Vec<Vec<f64>> =
        [3usize, 1].iter().map(|&n| (0..n * 3).map(|_| rng.normal()).collect()).collect();
    let x = Tensor::<(Dyn, Dyn, Const<3>), Cpu64>::from_sequences(&dev, &seqs).unwrap();
    let mut fc = PerStep::new(Linear::<Const<3>, Const<2>, Cpu64>::init(&dev, &mut Rng::new(1)));
    assert_eq!(fc.forward(&x).lengths().map(|l| l.as_slice().to_vec()), Some(vec![3, 1]));
    check_layer("PerStep<Linear>", &mut fc, &x);
}
