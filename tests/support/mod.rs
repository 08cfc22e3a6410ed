//! Shared test helpers: fixture loading, closeness checks and finite-difference gradient checks.
#![allow(dead_code)]

use shapeflow::prelude::*;

/// The PyTorch reference values (see tests/fixtures/pytorch_reference.py).
pub fn fixture() -> serde_json::Value {
    let text = include_str!("../fixtures/pytorch_reference.json");
    serde_json::from_str(text).expect("fixture parses")
}

/// The convolution/pooling/batch-norm reference values (tests/fixtures/pytorch_conv_reference.py).
pub fn conv_fixture() -> serde_json::Value {
    let text = include_str!("../fixtures/pytorch_conv_reference.json");
    serde_json::from_str(text).expect("fixture parses")
}

/// The LayerNorm / RMSprop / Adagrad reference values (tests/fixtures/pytorch_layer_norm_optim.py).
pub fn layer_norm_optim_fixture() -> serde_json::Value {
    let text = include_str!("../fixtures/pytorch_layer_norm_optim.json");
    serde_json::from_str(text).expect("fixture parses")
}

/// The sequence-layer reference values (tests/fixtures/pytorch_sequence_reference.py).
pub fn sequence_fixture() -> serde_json::Value {
    let text = include_str!("../fixtures/pytorch_sequence_reference.json");
    serde_json::from_str(text).expect("fixture parses")
}

/// The attention reference values (tests/fixtures/pytorch_attention_reference.py).
pub fn attention_fixture() -> serde_json::Value {
    let text = include_str!("../fixtures/pytorch_attention_reference.json");
    serde_json::from_str(text).expect("fixture parses")
}

/// Copies the fixture's `params` (PyTorch state-dict names) into `layer`, every one required.
pub fn load_named<B: Backend, M: Module<B>>(layer: &mut M, params: &serde_json::Value) {
    let mut seen = 0;
    layer.visit_params_mut(&mut String::new(), &mut |name, _, s| {
        let v = nums(&params[name]);
        let host: Vec<B::Elem> =
            v.into_iter().map(<B::Elem as shapeflow::Elem>::from_f64).collect();
        assert_eq!(host.len(), B::len(s), "{name}: fixture size");
        *s = B::upload_like(s, &host);
        seen += 1;
    });
    assert_eq!(seen, params.as_object().expect("object").len(), "every fixture parameter used");
}

/// A tensor of shape `S` from fixture numbers.
pub fn tensor<S: Shape>(sizes: &[usize], v: &serde_json::Value) -> Tensor<S, Cpu64> {
    Tensor::from_vec(&Cpu64::default(), sizes, nums(v)).expect("fixture sizes")
}

/// A list of numbers from the fixture.
pub fn nums(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

/// Asserts `|a − b| ≤ atol + rtol·|b|` elementwise.
pub fn assert_close(what: &str, got: &[f64], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: got {g}, want {w} (diff {:e})",
            (g - w).abs()
        );
    }
}

/// A seeded f64 tensor whose entries stay at least 0.05 away from 0 (ReLU's kink).
pub fn input<S: Shape>(sizes: &[usize], seed: u64) -> Tensor<S, Cpu64> {
    let mut rng = Rng::new(seed);
    let n: usize = sizes.iter().product();
    let data = (0..n)
        .map(|_| {
            let v = rng.normal();
            if v.abs() < 0.05 { v.signum() * 0.05 + v } else { v }
        })
        .collect();
    Tensor::from_vec(&Cpu64::default(), sizes, data).expect("sizes match")
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

const H: f64 = 1e-6;
/// Central differences in f64 with h = 1e-6 have truncation error O(h²·f''') ≈ 1e-12 and
/// rounding error ≈ ε·|f|/h ≈ 1e-10 for |f| ≈ 1, so 1e-6 relative plus 1e-7 absolute is
/// tight enough to catch a wrong derivative and loose enough never to flake.
const RTOL: f64 = 1e-6;
const ATOL: f64 = 1e-7;

/// Checks a layer's backward pass (input and every parameter gradient) against central finite
/// differences of `L(x) = Σ forward(x) ⊙ r` for a seeded random `r`, evaluating `L` in
/// inference mode (for layers whose inference and training forward agree).
pub fn check_layer<S: Shape, L: Layer<S, Cpu64>>(name: &str, layer: &mut L, x: &Tensor<S, Cpu64>) {
    check(name, layer, x, false);
}

/// As [`check_layer`], evaluating `L` with `forward_train` (batch norm with batch statistics).
pub fn check_layer_train<S: Shape, L: Layer<S, Cpu64>>(
    name: &str,
    layer: &mut L,
    x: &Tensor<S, Cpu64>,
) {
    check(name, layer, x, true);
}

fn check<S: Shape, L: Layer<S, Cpu64>>(
    name: &str,
    layer: &mut L,
    x: &Tensor<S, Cpu64>,
    train: bool,
) {
    let dev = Cpu64::default();
    let (y, cache) = layer.forward_train(x);
    let r_data: Vec<f64> = {
        let mut rng = Rng::new(99);
        (0..y.len()).map(|_| rng.normal()).collect()
    };
    let r =
        Tensor::<L::Output, Cpu64>::from_vec(&dev, y.dims(), r_data.clone()).expect("same sizes");
    let (dx, grads) = layer.backward(&cache, &r).expect("backward");
    let loss = |layer: &mut L, x: &Tensor<S, Cpu64>| {
        let y = if train { layer.forward_train(x).0 } else { layer.forward(x) };
        dot(&y.to_vec(), &r_data)
    };

    // Input gradient.
    let base = x.to_vec();
    let mut numeric = Vec::with_capacity(base.len());
    for i in 0..base.len() {
        let mut plus = base.clone();
        plus[i] += H;
        let mut minus = base.clone();
        minus[i] -= H;
        // A sequence batch keeps its lengths (padded entries are nudged too: their numeric
        // gradient must be zero, as the analytic one is).
        let lengths = x.lengths().cloned();
        let xp = Tensor::<S, Cpu64>::from_vec(&dev, x.dims(), plus).expect("sizes");
        let xp = xp.with_lengths(lengths.clone()).expect("lengths fit");
        let xm = Tensor::<S, Cpu64>::from_vec(&dev, x.dims(), minus).expect("sizes");
        let xm = xm.with_lengths(lengths).expect("lengths fit");
        numeric.push((loss(layer, &xp) - loss(layer, &xm)) / (2.0 * H));
    }
    assert_close(&format!("{name}: d/dx"), &dx.to_vec(), &numeric, RTOL, ATOL);

    // Parameter gradients, matched by name.
    let mut analytic: Vec<(String, Vec<f64>)> = Vec::new();
    grads.visit_params(&mut String::new(), &mut |n, _, s| {
        analytic.push((n.to_string(), s.to_vec()))
    });
    for (k, (pname, agrad)) in analytic.iter().enumerate() {
        let mut numeric = Vec::with_capacity(agrad.len());
        for j in 0..agrad.len() {
            let nudge = |delta: f64, layer: &mut L| {
                let mut idx = 0;
                layer.visit_params_mut(&mut String::new(), &mut |_, _, s| {
                    if idx == k {
                        s[j] += delta;
                    }
                    idx += 1;
                });
            };
            nudge(H, layer);
            let fp = loss(layer, x);
            nudge(-2.0 * H, layer);
            let fm = loss(layer, x);
            nudge(H, layer);
            numeric.push((fp - fm) / (2.0 * H));
        }
        assert_close(&format!("{name}: d/d{pname}"), agrad, &numeric, RTOL, ATOL);
    }
}

/// Checks a loss's gradient against central finite differences of the loss value.
pub fn check_loss<S: Shape>(
    name: &str,
    pred: &Tensor<S, Cpu64>,
    loss: impl Fn(&Tensor<S, Cpu64>) -> shapeflow::Result<(f64, Tensor<S, Cpu64>)>,
) {
    let dev = Cpu64::default();
    let (_, grad) = loss(pred).expect("loss");
    let base = pred.to_vec();
    let mut numeric = Vec::new();
    for i in 0..base.len() {
        let mut plus = base.clone();
        plus[i] += H;
        let mut minus = base.clone();
        minus[i] -= H;
        let fp = loss(&Tensor::from_vec(&dev, pred.dims(), plus).expect("sizes")).expect("loss").0;
        let fm = loss(&Tensor::from_vec(&dev, pred.dims(), minus).expect("sizes")).expect("loss").0;
        numeric.push((fp - fm) / (2.0 * H));
    }
    assert_close(&format!("{name}: d/dpred"), &grad.to_vec(), &numeric, RTOL, ATOL);
}
