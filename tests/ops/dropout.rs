//! Dropout: train vs eval, the mask's statistics, its gradient, reproducibility.

use shapeflow::prelude::*;

#[test]
fn dropout_is_identity_in_eval_and_inverted_in_train() {
    let dev = Cpu64::default();
    let x = Tensor::<(Dyn, Const<100>), Cpu64>::from_batch(&dev, 100, vec![1.0; 10_000]).unwrap();
    let mut d = Dropout::new(0.3, 7);
    assert_eq!(d.forward(&x).to_vec(), x.to_vec());
    let (y, mask) = d.forward_train(&x);
    let y = y.to_vec();
    let keep = 1.0 / 0.7;
    assert!(y.iter().all(|&v| v == 0.0 || (v - keep).abs() < 1e-12));
    let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / y.len() as f64;
    // 10,000 Bernoulli(0.3) draws: standard deviation 0.0046; allow 4 of them.
    assert!((dropped - 0.3).abs() < 0.02, "dropped fraction {dropped}");
    // Backward: the same mask applied to the output gradient (a linear map, checked exactly).
    let dy = Tensor::<(Dyn, Const<100>), Cpu64>::from_batch(
        &dev,
        100,
        (0..10_000).map(|i| i as f64).collect(),
    )
    .unwrap();
    let (dx, _) = d.backward(&mask, &dy).unwrap();
    for ((g, m), v) in dx.to_vec().iter().zip(mask.to_vec()).zip(dy.to_vec()) {
        assert_eq!(*g, m * v);
    }
}

#[test]
fn dropout_masks_are_seeded_and_change_between_steps() {
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, Const<10>), Cpu>::from_batch(&dev, 10, vec![1.0; 100]).unwrap();
    let (mut a, mut b) = (Dropout::new(0.5, 1), Dropout::new(0.5, 1));
    let (ya1, _) = a.forward_train(&x);
    let (yb1, _) = b.forward_train(&x);
    assert_eq!(ya1.to_vec(), yb1.to_vec());
    let (ya2, _) = a.forward_train(&x);
    assert_ne!(ya1.to_vec(), ya2.to_vec());
}

#[test]
fn dropout2d_drops_whole_channels() {
    let dev = Cpu64::default();
    let x = Tensor::<(Dyn, Const<8>, Const<3>, Const<3>), Cpu64>::from_batch(
        &dev,
        50,
        vec![1.0; 50 * 8 * 9],
    )
    .unwrap();
    let mut d = Dropout2d::new(0.5, 11);
    assert_eq!(d.forward(&x).to_vec(), x.to_vec());
    let (y, mask) = d.forward_train(&x);
    let y = y.to_vec();
    let mut dropped = 0;
    for plane in y.chunks(9) {
        assert!(plane.iter().all(|&v| v == plane[0]) && (plane[0] == 0.0 || plane[0] == 2.0));
        dropped += usize::from(plane[0] == 0.0);
    }
    // 400 channels, Bernoulli(0.5): standard deviation 10.
    assert!((160..=240).contains(&dropped), "{dropped} of 400 dropped");
    let dy = Tensor::<(Dyn, Const<8>, Const<3>, Const<3>), Cpu64>::from_batch(
        &dev,
        50,
        (0..3600).map(|v| v as f64).collect(),
    )
    .unwrap();
    let (dx, _) = d.backward(&mask, &dy).unwrap();
    for ((g, yv), v) in dx.to_vec().iter().zip(&y).zip(dy.to_vec()) {
        assert_eq!(*g, yv * v);
    }
}
