//! The rules of autograd: what is recorded, accumulation, freed graphs, seeds, errors.

use shapeflow::autograd::no_grad;
use shapeflow::prelude::*;

type V = Tensor<(Const<3>,), Cpu64>;

fn leaf(v: [f64; 3]) -> V {
    V::from_vec(&Cpu64::default(), &[3], v.to_vec()).unwrap().requires_grad()
}

#[test]
fn control_flow_is_plain_rust() {
    let w = leaf([1.0, -2.0, 3.0]);
    // a loop with a data-dependent exit and a branch per iteration
    let mut y = w.clone();
    let mut steps = 0;
    while y.abs().sum_all().item() < 50.0 {
        y = if steps % 2 == 0 { y.mul_scalar(2.0) } else { (&y + &w).unwrap() };
        steps += 1;
    }
    // y = ((w·2 + w)·2 + w)·2 = 14 w after 5 steps? check by the recorded count
    let g = y.sum_all().backward().unwrap();
    let factor = y.to_vec()[0] / 1.0;
    assert_eq!(g.wrt(&w).unwrap().to_vec(), vec![factor; 3]);
}

#[test]
fn gradients_accumulate_over_backward_calls_until_zeroed() {
    let w = leaf([1.0, 2.0, 3.0]);
    for _ in 0..3 {
        w.square().sum_all().backward().unwrap();
    }
    assert_eq!(w.grad().unwrap().to_vec(), vec![6.0, 12.0, 18.0]);
    w.zero_grad();
    w.sum_all().backward().unwrap();
    assert_eq!(w.grad().unwrap().to_vec(), vec![1.0, 1.0, 1.0]);
}

#[test]
fn a_value_used_twice_gets_both_contributions() {
    let w = leaf([1.0, 2.0, 3.0]);
    let e = w.exp();
    let y = (&e * &e).unwrap().sum_all(); // Σ e^{2w}
    let g = y.backward().unwrap().wrt(&w).unwrap().to_vec();
    for (gi, wi) in g.iter().zip([1.0f64, 2.0, 3.0]) {
        assert!((gi - 2.0 * (2.0 * wi).exp()).abs() < 1e-9);
    }
}

#[test]
fn a_second_backward_over_a_freed_graph_is_an_err() {
    let w = leaf([1.0, 2.0, 3.0]);
    let loss = w.exp().sum_all();
    loss.backward().unwrap();
    let err = loss.backward().unwrap_err().to_string();
    assert!(err.contains("freed") && err.contains("backward_retained"), "{err}");
    // retained: twice, same gradients, accumulated
    let w = leaf([1.0, 2.0, 3.0]);
    let loss = w.square().sum_all();
    let a = loss.backward_retained().unwrap().wrt(&w).unwrap().to_vec();
    let b = loss.backward_retained().unwrap().wrt(&w).unwrap().to_vec();
    assert_eq!(a, b);
    assert_eq!(w.grad().unwrap().to_vec(), vec![4.0, 8.0, 12.0]);
}

#[test]
fn backward_needs_a_scalar_or_a_seed() {
    let w = leaf([1.0, 2.0, 3.0]);
    let y = w.mul_scalar(3.0);
    let err = y.backward().unwrap_err().to_string();
    assert!(err.contains("3 elements") && err.contains("backward_with"), "{err}");
    let seed = V::from_vec(&Cpu64::default(), &[3], vec![1.0, 0.0, 2.0]).unwrap();
    let g = y.backward_with(&seed).unwrap();
    assert_eq!(g.wrt(&w).unwrap().to_vec(), vec![3.0, 0.0, 6.0]);
}

#[test]
fn nothing_is_recorded_without_a_leaf_or_inside_no_grad() {
    let x = V::ones(&Cpu64::default(), &[3]).unwrap();
    assert!(!x.exp().is_tracked());
    let err = x.exp().sum_all().backward().unwrap_err().to_string();
    assert!(err.contains("requires_grad"), "{err}");
    let w = leaf([1.0, 2.0, 3.0]);
    let y = no_grad(|| w.exp().sum_all());
    assert!(!y.is_tracked());
    assert!(w.exp().is_tracked(), "recording is back on after no_grad");
    assert!(!w.exp().detach().mul_scalar(2.0).is_tracked());
}

#[test]
fn gradients_name_what_is_missing() {
    let w = leaf([1.0, 2.0, 3.0]);
    let unused = leaf([0.0; 3]);
    let plain = V::ones(&Cpu64::default(), &[3]).unwrap();
    let g = w.sum_all().backward().unwrap();
    assert!(g.wrt(&unused).unwrap_err().to_string().contains("does not depend on it"));
    assert!(g.wrt(&plain).unwrap_err().to_string().contains("requires_grad"));
    assert!(g.wrt(&w.exp()).unwrap_err().to_string().contains("not a leaf"));
    assert!(g.get(&unused).is_none());
}

#[test]
fn comparisons_are_masks_without_gradient() {
    let w = leaf([1.0, -2.0, 3.0]);
    let zero = Tensor::<(Const<1>,), Cpu64>::zeros(&Cpu64::default(), &[1]).unwrap();
    let m = w.gt(&zero).unwrap();
    assert!(!m.is_tracked());
    assert_eq!(m.to_vec(), vec![1.0, 0.0, 1.0]);
    // a mask times the value: gradient is the mask
    let g = (&w * &m).unwrap().sum_all().backward().unwrap();
    assert_eq!(g.wrt(&w).unwrap().to_vec(), vec![1.0, 0.0, 1.0]);
}

#[test]
fn run_time_sizes_that_do_not_fit_are_errs() {
    let dev = Cpu64::default();
    let a = Tensor::<(Dyn, Const<3>), Cpu64>::zeros(&dev, &[4, 3]).unwrap();
    let b = Tensor::<(Dyn, Const<3>), Cpu64>::zeros(&dev, &[5, 3]).unwrap();
    let err = (&a + &b).unwrap_err().to_string();
    assert!(
        err.contains("cannot broadcast [4, 3] with [5, 3]") && err.contains("4 on one side and 5"),
        "{err}"
    );
    let idx_err = a.index_select::<0>(&[4]).unwrap_err().to_string();
    assert!(idx_err.contains("index 4"), "{idx_err}");
    let bad = Tensor::<(Dyn, Const<1>), Cpu64>::from_vec(&dev, &[4, 1], vec![0.0, 1.5, 0.0, 0.0])
        .unwrap();
    assert!(a.gather::<1, _>(&bad).unwrap_err().to_string().contains("1.5 at position 1"));
    assert!(a.view::<(Dyn, Const<5>)>().unwrap_err().to_string().contains("12 elements"));
    assert!(a.squeeze::<0>().is_err());
    assert!(a.narrow_dyn::<0>(3, 2).unwrap_err().to_string().contains("the axis has 4"));
}

#[test]
fn f32_tensors_train_too() {
    // the same ops on the f32 backend: a least-squares fit by gradient descent
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, Const<2>), Cpu>::randn(&dev, &[64, 2], 0.0, 1.0, 1).unwrap();
    let true_w =
        Tensor::<(Const<2>, Const<1>), Cpu>::from_vec(&dev, &[2, 1], vec![2.0, -3.0]).unwrap();
    let y = x.matmul(&true_w).unwrap();
    let mut w = Tensor::<(Const<2>, Const<1>), Cpu>::zeros(&dev, &[2, 1]).unwrap().requires_grad();
    for _ in 0..200 {
        let loss = (&x.matmul(&w).unwrap() - &y).unwrap().square().mean_all();
        let g = loss.backward().unwrap().wrt(&w).unwrap();
        w = (&w.detach() - &g.mul_scalar(0.1)).unwrap().requires_grad();
    }
    let got = w.to_vec();
    assert!((got[0] - 2.0).abs() < 1e-3 && (got[1] + 3.0).abs() < 1e-3, "{got:?}");
}

#[test]
fn nan_and_infinities_pass_through_the_f32_kernels() {
    let dev = Cpu::default();
    let x = Tensor::<(Const<4>,), Cpu>::from_vec(
        &dev,
        &[4],
        vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.5],
    )
    .unwrap();
    let e = x.exp().to_vec();
    assert!(e[0].is_nan() && e[2] == 0.0 && (e[3] - 0.5f32.exp()).abs() < 1e-6, "{e:?}");
    assert!(e[1] > 1e38, "{e:?}");
    let big = Tensor::<(Dyn,), Cpu>::from_vec(&dev, &[1 << 16], vec![f32::NAN; 1 << 16]).unwrap();
    assert!(big.exp().to_vec().iter().all(|v| v.is_nan()));
    assert!(x.relu().to_vec()[0].is_nan() && x.tanh().to_vec()[0].is_nan());
    assert!(x.sum_all().item().is_nan() && x.max_all().item().is_nan());
}

#[test]
fn f32_exp_is_close_to_the_library_over_its_whole_range() {
    let dev = Cpu::default();
    let xs: Vec<f32> = (0..40_001).map(|i| -110.0 + i as f32 * 0.0055).collect();
    let n = xs.len();
    let got = Tensor::<(Dyn,), Cpu>::from_vec(&dev, &[n], xs.clone()).unwrap().exp().to_vec();
    for (x, g) in xs.iter().zip(&got) {
        let want = x.exp();
        let ok = g == &want
            || (g - want).abs() <= 4.0 * f32::EPSILON * want.abs()
            || (g - want).abs() < 1e-44;
        assert!(ok, "exp({x}): {g} vs {want}");
    }
}
