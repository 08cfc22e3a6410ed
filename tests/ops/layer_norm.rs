//! LayerNorm: PyTorch values and gradients (affine and not, 2-D and 3-D inputs) in f64 and f32,
//! and gradient checks against finite differences.

use shapeflow::prelude::*;

use crate::support::{assert_close, check_layer, input, layer_norm_optim_fixture, nums};

/// Runs fixture case `i` on backend `B` to tolerance `tol`.
fn against_pytorch<S: Shape, F: shapeflow::StaticDim, B: Backend>(dev: &B, i: usize, tol: f64)
where
    LayerNorm<F, B>: Layer<S, B, Output = S>,
{
    let f = layer_norm_optim_fixture();
    let case = &f["layer_norm"][i];
    let shape: Vec<usize> =
        case["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let affine = case["affine"].as_bool().unwrap();
    let cast = |v: &serde_json::Value| {
        nums(v).into_iter().map(<B::Elem as shapeflow::Elem>::from_f64).collect::<Vec<_>>()
    };
    let as64 = |v: Vec<B::Elem>| v.into_iter().map(shapeflow::Elem::as_f64).collect::<Vec<_>>();
    let mut ln = LayerNorm::<F, B>::with_config(dev, case["eps"].as_f64().unwrap(), affine);
    if affine {
        ln.weight = Some(Tensor::from_vec(dev, &[F::N], cast(&case["weight"])).unwrap());
        ln.bias = Some(Tensor::from_vec(dev, &[F::N], cast(&case["bias"])).unwrap());
    }
    let x = Tensor::<S, B>::from_vec(dev, &shape, cast(&case["x"])).unwrap();
    let r = Tensor::<S, B>::from_vec(dev, &shape, cast(&case["r"])).unwrap();
    let what = format!("layer_norm case {i} ({})", <B::Elem as shapeflow::Elem>::NAME);
    assert_close(&format!("{what} y"), &as64(ln.forward(&x).to_vec()), &nums(&case["y"]), tol, tol);
    let (y, cache) = ln.forward_train(&x);
    assert_close(&format!("{what} train y"), &as64(y.to_vec()), &nums(&case["y"]), tol, tol);
    let (dx, g) = ln.backward(&cache, &r).unwrap();
    assert_close(&format!("{what} dx"), &as64(dx.to_vec()), &nums(&case["dx"]), tol, tol);
    match (&g.weight, &g.bias) {
        (Some(w), Some(b)) => {
            assert_close(
                &format!("{what} dweight"),
                &as64(w.to_vec()),
                &nums(&case["dweight"]),
                tol,
                tol,
            );
            assert_close(
                &format!("{what} dbias"),
                &as64(b.to_vec()),
                &nums(&case["dbias"]),
                tol,
                tol,
            );
        }
        _ => assert!(!affine, "{what}: affine gradients missing"),
    }
}

#[test]
fn layer_norm_matches_pytorch_in_f64() {
    let dev = Cpu64::default();
    against_pytorch::<(Dyn, Const<4>, Const<5>), Const<5>, _>(&dev, 0, 1e-10);
    against_pytorch::<(Dyn, Const<8>), Const<8>, _>(&dev, 1, 1e-10);
    against_pytorch::<(Dyn, Const<7>), Const<7>, _>(&dev, 2, 1e-10);
}

#[test]
fn layer_norm_matches_pytorch_in_f32() {
    let dev = Cpu::default();
    against_pytorch::<(Dyn, Const<4>, Const<5>), Const<5>, _>(&dev, 0, 1e-4);
    against_pytorch::<(Dyn, Const<8>), Const<8>, _>(&dev, 1, 1e-4);
}

#[test]
fn layer_norm_gradient_checks() {
    let dev = Cpu64::default();
    let mut ln = LayerNorm::<Const<5>, Cpu64>::with_config(&dev, 1e-5, true);
    ln.weight = Some(Tensor::from_vec(&dev, &[5], vec![0.5, 2.0, -1.0, 1.5, 0.7]).unwrap());
    ln.bias = Some(Tensor::from_vec(&dev, &[5], vec![0.1, 0.2, 0.3, -0.4, 0.0]).unwrap());
    check_layer("LayerNorm affine [n, 5]", &mut ln, &input::<(Dyn, Const<5>)>(&[4, 5], 80));
    check_layer(
        "LayerNorm affine [n, 3, 5]",
        &mut ln,
        &input::<(Dyn, Const<3>, Const<5>)>(&[2, 3, 5], 81),
    );
    let mut plain = LayerNorm::<Const<6>, Cpu64>::with_config(&dev, 1e-3, false);
    check_layer(
        "LayerNorm without affine [n, 2, 2, 6]",
        &mut plain,
        &input::<(Dyn, Const<2>, Const<2>, Const<6>)>(&[2, 2, 2, 6], 82),
    );
}

/// Above 32k values the rows run in parallel: the same numbers as the serial path.
#[test]
fn layer_norm_parallel_rows_match_a_direct_computation() {
    let dev = Cpu64::default();
    let ln = LayerNorm::<Const<64>, Cpu64>::with_config(&dev, 1e-5, false);
    let x = input::<(Dyn, Const<64>)>(&[1024, 64], 83);
    let y = ln.forward(&x).to_vec();
    let xs = x.to_vec();
    for r in [0, 511, 1023] {
        let row = &xs[r * 64..(r + 1) * 64];
        let mean = row.iter().sum::<f64>() / 64.0;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 64.0;
        for c in 0..64 {
            let want = (row[c] - mean) / (var + 1e-5).sqrt();
            assert!((y[r * 64 + c] - want).abs() < 1e-12, "row {r} col {c}");
        }
    }
}

#[test]
fn layer_norm_rejects_a_gradient_of_another_size() {
    let dev = Cpu64::default();
    let mut ln = LayerNorm::<Const<4>, Cpu64>::with_config(&dev, 1e-5, true);
    let (_, cache) = ln.forward_train(&input::<(Dyn, Const<4>)>(&[3, 4], 84));
    let dy = input::<(Dyn, Const<4>)>(&[2, 4], 85);
    let err = Layer::<(Dyn, Const<4>), Cpu64>::backward(&ln, &cache, &dy).unwrap_err();
    assert!(err.to_string().contains("LayerNorm backward"), "{err}");
}

/// The default body every backend gets (batch-norm kernels over rows, a product for the affine
/// part) computes what the CPU backend's fused kernel computes.
#[test]
fn composed_layer_norm_equals_the_fused_kernel() {
    use shapeflow::backend::{
        LayerNormGrads, Norm, RowNorm, RowStats, RowStatsMut, layer_norm_backward_composed,
        layer_norm_composed,
    };
    let dev = Cpu64::default();
    let (rows, cols) = (7, 13);
    let g = RowNorm { rows, cols, eps: 1e-5 };
    let x = input::<(Dyn, Const<13>)>(&[rows, cols], 90);
    let dy = input::<(Dyn, Const<13>)>(&[rows, cols], 91);
    let w = input::<(Const<13>,)>(&[cols], 92);
    let b = input::<(Const<13>,)>(&[cols], 93);
    for affine in [true, false] {
        let aff = affine.then_some((w.storage(), b.storage()));
        let mut out = Vec::new();
        for composed in [false, true] {
            let (mut y, mut m, mut v) = (dev.zeros(rows * cols), dev.zeros(rows), dev.zeros(rows));
            let stats = RowStatsMut { mean: &mut m, var: &mut v };
            if composed {
                layer_norm_composed::<Cpu64>(x.storage(), aff, &mut y, stats, g);
            } else {
                Cpu64::layer_norm(x.storage(), aff, &mut y, stats, g);
            }
            let (mut dx, mut dg, mut db) =
                (dev.zeros(rows * cols), dev.zeros(cols), dev.zeros(cols));
            let grads = LayerNormGrads { dx: &mut dx, dgamma: Some(&mut dg), dbeta: Some(&mut db) };
            let stats = RowStats { mean: &m, var: &v };
            let gamma = affine.then_some(w.storage());
            if composed {
                layer_norm_backward_composed::<Cpu64>(
                    x.storage(),
                    dy.storage(),
                    stats,
                    gamma,
                    grads,
                    g,
                );
            } else {
                Cpu64::layer_norm_backward(x.storage(), dy.storage(), stats, gamma, grads, g);
            }
            out.push([y, m, v, dx, dg, db].map(|s| Cpu64::to_host(&s)));
        }
        for (i, name) in ["y", "mean", "var", "dx", "dgamma", "dbeta"].iter().enumerate() {
            assert_close(
                &format!("composed {name} (affine {affine})"),
                &out[1][i],
                &out[0][i],
                1e-10,
                1e-12,
            );
        }
    }
}
