//! matmul: typed product against hand-computed values, and a large product against a naive one.

use shapeflow::prelude::*;

#[test]
fn matmul_by_hand() {
    let dev = Cpu::default();
    let a =
        Tensor::<(Const<2>, Const<3>), Cpu>::from_vec(&dev, &[2, 3], vec![1., 2., 3., 4., 5., 6.])
            .unwrap();
    let b = Tensor::<(Const<3>, Const<2>), Cpu>::from_vec(
        &dev,
        &[3, 2],
        vec![7., 8., 9., 10., 11., 12.],
    )
    .unwrap();
    assert_eq!(a.matmul(&b).unwrap().to_vec(), vec![58., 64., 139., 154.]);
}

#[test]
fn matmul_large_matches_naive_on_two_threads() {
    let dev = Cpu64::default();
    let (m, k, n) = (130, 257, 70);
    let a: Vec<f64> = (0..m * k).map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0).collect();
    let b: Vec<f64> = (0..k * n).map(|i| ((i * 53) % 97) as f64 / 48.0 - 1.0).collect();
    let ta = Tensor::<(Dyn, dim!(257)), Cpu64>::from_vec(&dev, &[m, k], a.clone()).unwrap();
    let tb = Tensor::<(dim!(257), Const<70>), Cpu64>::from_vec(&dev, &[k, n], b.clone()).unwrap();
    let c = ta.matmul(&tb).unwrap().to_vec();
    for i in 0..m {
        for j in 0..n {
            let want: f64 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            assert!((c[i * n + j] - want).abs() < 1e-10);
        }
    }
}

#[test]
fn matmul_checks_dynamic_inner_dimension() {
    let dev = Cpu::default();
    let a = Tensor::<(Const<1>, Dyn), Cpu>::from_vec(&dev, &[1, 2], vec![1.0, 2.0]).unwrap();
    let b = Tensor::<(Dyn, Const<1>), Cpu>::from_vec(&dev, &[3, 1], vec![1.0; 3]).unwrap();
    let err = a.matmul(&b).expect_err("inner sizes differ at run time");
    assert!(
        err.to_string().contains("[1, 2] times [3, 1]: the inner sizes 2 and 3 differ"),
        "{err}"
    );
}
