//! The fused `BatchNorm` → `Relu` pass (`layers::batch_norm_relu`, what `model!` generates for
//! a batch norm read only by a `Relu`): PyTorch's values (tests/fixtures/
//! pytorch_batch_norm_relu.py), the very same results as the two layers run apart in f32 and
//! f64 (NaN passing through), finite differences, a mismatched gradient refused, and a model
//! whose fused and unfused pairs agree with the layers run by hand.

use shapeflow::prelude::*;

use crate::support::{assert_close, check_layer_train, input, nums, tensor};

type X = (Dyn, Const<3>, Const<5>, Const<5>);

fn fixture() -> serde_json::Value {
    let text = include_str!("../fixtures/pytorch_batch_norm_relu.json");
    serde_json::from_str(text).expect("the fixture is JSON")
}

#[test]
fn the_fused_pass_matches_pytorch() {
    let (f, dev) = (fixture(), Cpu64::default());
    let mut bn = BatchNorm2d::<Const<3>, Cpu64>::init(&dev, &mut Rng::new(0));
    bn.weight = tensor(&[3], &f["weight"]);
    bn.bias = tensor(&[3], &f["bias"]);
    let x = tensor::<X>(&[4, 3, 5, 5], &f["x"]);
    let (y, cb, cr) = batch_norm_relu::forward_train(&mut bn, &mut Relu, &x);
    assert_close("y", &y.to_vec(), &nums(&f["y"]), 1e-10, 1e-12);
    let stats = [("running_mean", &bn.running_mean), ("running_var", &bn.running_var)];
    for (name, t) in stats {
        assert_close(name, &t.to_vec(), &nums(&f[name]), 1e-10, 1e-12);
    }
    let r = Tensor::<X, Cpu64>::from_vec(&dev, &[4, 3, 5, 5], nums(&f["r"])).unwrap();
    let (dx, g, _) = batch_norm_relu::backward(&bn, &Relu, &cb, &cr, &r).unwrap();
    assert_close("dx", &dx.to_vec(), &nums(&f["dx"]), 1e-9, 1e-11);
    assert_close("dweight", &g.weight.to_vec(), &nums(&f["dweight"]), 1e-10, 1e-12);
    assert_close("dbias", &g.bias.to_vec(), &nums(&f["dbias"]), 1e-10, 1e-12);
    let eval = batch_norm_relu::forward(&bn, &Relu, &x);
    assert_close("eval y", &eval.to_vec(), &nums(&f["y_eval"]), 1e-10, 1e-12);
}

/// Bit-for-bit equality with NaN equal to NaN.
fn same<E: Elem>(what: &str, got: &[E], want: &[E]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(g == w || (g.is_nan() && w.is_nan()), "{what}[{i}]: {g:?} vs {w:?}");
    }
}

/// The fused pass against `BatchNorm` then `Relu`, output and every gradient; `poison` puts a
/// NaN in the second sample's input.
fn fused_equals_apart<B: Backend>(dev: &B, poison: bool) {
    let mut bn = BatchNorm2d::<Const<3>, B>::init(dev, &mut Rng::new(0));
    let gamma = [1.5, -0.5, 0.8].map(B::Elem::from_f64).to_vec();
    bn.weight = Tensor::from_vec(dev, &[3], gamma).unwrap();
    let mut data: Vec<f64> = (0..2 * 3 * 7 * 4).map(|i| (i as f64 * 0.73).sin() + 0.2).collect();
    if poison {
        data[3 * 7 * 4 + 5] = f64::NAN;
    }
    let data: Vec<B::Elem> = data.into_iter().map(B::Elem::from_f64).collect();
    let x = Tensor::<(Dyn, Const<3>, Const<7>, Const<4>), B>::from_vec(dev, &[2, 3, 7, 4], data)
        .unwrap();
    let mut apart = bn.clone();
    let (z, cz) = apart.forward_train(&x);
    let (y, cy) = Relu.forward_train(&z);
    let (yf, cb, cr) = batch_norm_relu::forward_train(&mut bn, &mut Relu, &x);
    same("y", &yf.to_vec(), &y.to_vec());
    same("running_var", &bn.running_var.to_vec(), &apart.running_var.to_vec());
    same("eval y", &batch_norm_relu::forward(&bn, &Relu, &x).to_vec(), &{
        let z = apart.forward(&x);
        Relu.forward(&z).to_vec()
    });
    let r: Vec<B::Elem> =
        (0..y.len()).map(|i| B::Elem::from_f64((i as f64 * 0.37).cos())).collect();
    let r = Tensor::from_vec(dev, y.dims(), r).unwrap();
    let (dz, _) = Relu.backward(&cy, &r).unwrap();
    type Y<B> = Tensor<(Dyn, Const<3>, Const<7>, Const<4>), B>;
    let (dx, g): (Y<B>, _) = apart.backward(&cz, &dz).unwrap();
    let (dxf, gf, _) = batch_norm_relu::backward(&bn, &Relu, &cb, &cr, &r).unwrap();
    same("dx", &dxf.to_vec(), &dx.to_vec());
    same("dweight", &gf.weight.to_vec(), &g.weight.to_vec());
    same("dbias", &gf.bias.to_vec(), &g.bias.to_vec());
    let (gp, _) = batch_norm_relu::backward_params(&bn, &Relu, &cb, &cr, &r).unwrap();
    same("dweight (params only)", &gp.weight.to_vec(), &g.weight.to_vec());
}

#[test]
fn the_fused_pass_equals_the_two_layers_apart() {
    fused_equals_apart(&Cpu::default(), false);
    fused_equals_apart(&Cpu64::default(), false);
    fused_equals_apart(&Cpu::default(), true);
    fused_equals_apart(&Cpu64::default(), true);
}

/// The pair as one layer, for [`check_layer_train`].
#[derive(Module, Clone)]
struct Pair<B: Backend> {
    bn: BatchNorm2d<Const<3>, B>,
}

impl Layer<X, Cpu64> for Pair<Cpu64> {
    type Output = X;
    type Cache = (BatchNormCache<Cpu64>, Tensor<X, Cpu64>);
    fn forward(&self, x: &Tensor<X, Cpu64>) -> Tensor<X, Cpu64> {
        batch_norm_relu::forward(&self.bn, &Relu, x)
    }
    fn forward_train(&mut self, x: &Tensor<X, Cpu64>) -> (Tensor<X, Cpu64>, Self::Cache) {
        let (y, cb, cr) = batch_norm_relu::forward_train(&mut self.bn, &mut Relu, x);
        (y, (cb, cr))
    }
    fn backward(
        &self,
        (cb, cr): &Self::Cache,
        dy: &Tensor<X, Cpu64>,
    ) -> shapeflow::Result<(Tensor<X, Cpu64>, Self)> {
        let (dx, bn, _) = batch_norm_relu::backward(&self.bn, &Relu, cb, cr, dy)?;
        Ok((dx, Pair { bn }))
    }
}

#[test]
fn the_fused_pass_gradients_match_finite_differences() {
    let dev = Cpu64::default();
    let mut bn = BatchNorm2d::<Const<3>, Cpu64>::init(&dev, &mut Rng::new(0));
    bn.weight = Tensor::from_vec(&dev, &[3], vec![0.5, 2.0, -1.0]).unwrap();
    bn.bias = Tensor::from_vec(&dev, &[3], vec![0.1, 0.2, 0.3]).unwrap();
    check_layer_train("BatchNorm2d → Relu", &mut Pair { bn }, &input::<X>(&[2, 3, 5, 5], 74));
}

#[test]
fn a_gradient_of_another_shape_is_refused() {
    let dev = Cpu64::default();
    let mut bn = BatchNorm2d::<Const<3>, Cpu64>::init(&dev, &mut Rng::new(0));
    let (_, cb, cr) =
        batch_norm_relu::forward_train(&mut bn, &mut Relu, &input::<X>(&[2, 3, 5, 5], 1));
    let dy = input::<X>(&[3, 3, 5, 5], 2);
    let err = batch_norm_relu::backward(&bn, &Relu, &cb, &cr, &dy).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("BatchNorm backward"), "{err}");
}

model! {
    /// `b1` is read only by `r1` (run fused); `b2` is read by `r2` and by the sum (run apart).
    pub struct TwoPairs {
        input x: [3, 5, 5],
        b1: BatchNorm2d<3>,
        r1: Relu,
        b2: BatchNorm2d<3>,
        r2: Relu,
        sum: Add(b2, r2),
    }
}

#[test]
fn a_model_runs_its_pairs_as_the_layers_would() {
    let dev = Cpu64::default();
    let mut m = TwoPairs::<Cpu64>::new(&dev, 0);
    let x = input::<X>(&[2, 3, 5, 5], 3);
    let mut by_hand = (m.b1.clone(), m.b2.clone());
    let (y, cache) = m.forward_train(&x);
    let (z1, c1) = by_hand.0.forward_train(&x);
    let (a1, ca1) = Relu.forward_train(&z1);
    let (z2, c2) = by_hand.1.forward_train(&a1);
    let (a2, ca2) = Relu.forward_train(&z2);
    let want = z2.add(&a2).unwrap();
    same("y", &y.to_vec(), &want.to_vec());
    let r = input::<X>(&[2, 3, 5, 5], 4);
    let (dx, grads) = Layer::<X, Cpu64>::backward(&m, &cache, &r).unwrap();
    let (dz2, _) = Relu.backward(&ca2, &r).unwrap();
    let (da1, g2): (Tensor<X, Cpu64>, _) = by_hand.1.backward(&c2, &r.add(&dz2).unwrap()).unwrap();
    let (dz1, _) = Relu.backward(&ca1, &da1).unwrap();
    let (dx_want, g1): (Tensor<X, Cpu64>, _) = by_hand.0.backward(&c1, &dz1).unwrap();
    assert_close("dx", &dx.to_vec(), &dx_want.to_vec(), 1e-12, 1e-12);
    assert_close("b1.weight", &grads.b1.weight.to_vec(), &g1.weight.to_vec(), 1e-12, 1e-12);
    assert_close("b2.weight", &grads.b2.weight.to_vec(), &g2.weight.to_vec(), 1e-12, 1e-12);
    check_layer_train("TwoPairs", &mut m, &x);
}
