//! The finite-difference gradient check shared by the tests.

use shapeflow::autograd::no_grad;
use shapeflow::prelude::*;

/// A fixed, uneven weight for `sum(out · w)`, so every output position counts differently.
pub fn weight(len: usize) -> Vec<f64> {
    (0..len)
        .map(|i| 0.3 + ((i * 7919) % 13) as f64 / 10.0 * if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect()
}

/// `sum(f(x) · w)` as a value.
fn loss_of<O: Shape>(y: &Tensor<O, Cpu64>) -> Tensor<(), Cpu64> {
    let w = y.from_vec_like::<O>(y.dims(), weight(y.len())).expect("sizes");
    y.mul_same(&w).expect("same sizes").sum_all()
}

/// Checks the gradient of `sum(f(a, b) · w)` with respect to both inputs against central
/// differences (step 1e-6, tolerance 1e-6 relative to the largest entry).
pub fn grad2<S: Shape, T: Shape, O: Shape>(
    name: &str,
    a: &Tensor<S, Cpu64>,
    b: &Tensor<T, Cpu64>,
    f: impl Fn(&Tensor<S, Cpu64>, &Tensor<T, Cpu64>) -> Result<Tensor<O, Cpu64>>,
) {
    let (a, b) = (a.detach().requires_grad(), b.detach().requires_grad());
    let y = f(&a, &b).unwrap_or_else(|e| panic!("{name}: {e}"));
    let g = loss_of(&y).backward().unwrap_or_else(|e| panic!("{name}: {e}"));
    let eval = |a: &Tensor<S, Cpu64>, b: &Tensor<T, Cpu64>| {
        no_grad(|| loss_of(&f(a, b).expect("forward")).item())
    };
    let numeric_a = central_differences(&a, |a| eval(a, &b));
    let numeric_b = central_differences(&b, |b| eval(&a, b));
    close(
        &format!("{name}: d/da"),
        &g.get(&a).map(|t| t.to_vec()).unwrap_or_else(|| vec![0.0; a.len()]),
        &numeric_a,
    );
    close(
        &format!("{name}: d/db"),
        &g.get(&b).map(|t| t.to_vec()).unwrap_or_else(|| vec![0.0; b.len()]),
        &numeric_b,
    );
}

/// `∂f/∂t[i]` for every entry of `t` by central differences (step 1e-6).
fn central_differences<S: Shape>(
    t: &Tensor<S, Cpu64>,
    f: impl Fn(&Tensor<S, Cpu64>) -> f64,
) -> Vec<f64> {
    let h = 1e-6;
    (0..t.len())
        .map(|i| {
            let bump = |d: f64| {
                let mut v = t.to_vec();
                v[i] += d;
                Tensor::from_vec_like(t, t.dims(), v).expect("sizes")
            };
            (f(&bump(h)) - f(&bump(-h))) / (2.0 * h)
        })
        .collect()
}

/// [`grad2`] for one input.
pub fn grad1<S: Shape, O: Shape>(
    name: &str,
    a: &Tensor<S, Cpu64>,
    f: impl Fn(&Tensor<S, Cpu64>) -> Result<Tensor<O, Cpu64>>,
) {
    let unused = Tensor::<(Const<1>,), Cpu64>::zeros(&Cpu64::default(), &[1]).expect("sizes");
    grad2(name, a, &unused, |a, _| f(a));
}

/// Asserts that two lists agree to 1e-6 relative to the larger magnitude (at least 1).
pub fn close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().chain(got).fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-6 * scale,
            "{what}: entry {i}: {g} vs {w}\n got  {got:?}\n want {want:?}"
        );
    }
}

/// A seeded f64 tensor of normal values.
pub fn randn<S: Shape>(sizes: &[usize], seed: u64) -> Tensor<S, Cpu64> {
    Tensor::randn(&Cpu64::default(), sizes, 0.0, 1.0, seed).expect("sizes")
}

/// A seeded f64 tensor of values in `[0.5, 1.5)`.
pub fn positive<S: Shape>(sizes: &[usize], seed: u64) -> Tensor<S, Cpu64> {
    Tensor::rand_uniform(&Cpu64::default(), sizes, 0.5, 1.5, seed).expect("sizes")
}

/// A seeded f64 tensor of normal values at least 0.2 from 0 (for ops with a kink at 0).
pub fn away_from_zero<S: Shape>(sizes: &[usize], seed: u64) -> Tensor<S, Cpu64> {
    let t = randn::<S>(sizes, seed);
    let v = t.to_vec().into_iter().map(|x| x + 0.2 * x.signum()).collect();
    Tensor::from_vec(&Cpu64::default(), sizes, v).expect("sizes")
}
