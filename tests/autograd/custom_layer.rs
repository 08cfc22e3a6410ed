//! A layer written as forward code: `ScaleShift` (hand-written in tests/model/custom_layer.rs
//! with its backward) in a dozen lines, its gradients against the hand-written version and
//! finite differences, inside `model!`, trained by `fit`, and a written-out training loop.

use shapeflow::prelude::*;

// ---- the whole layer ----
/// `y = x ⊙ scale + shift`, per feature; the backward is autograd's.
#[derive(Module, Init, Clone)]
pub struct ScaleShift<B: Backend> {
    #[init(ones)]
    pub scale: Tensor<(Const<4>,), B>,
    #[init(zeros)]
    pub shift: Tensor<(Const<4>,), B>,
}
impl<B: Backend> AutoLayer<(Dyn, Const<4>), B> for ScaleShift<B> {
    type Output = (Dyn, Const<4>);
    fn forward(&self, x: &Tensor<(Dyn, Const<4>), B>) -> Result<Tensor<(Dyn, Const<4>), B>> {
        (x * &self.scale) + &self.shift
    }
}
// ---- end of the layer ----

/// A GroupNorm-style normalisation over each row's 4 features, composed of ops (mean, var,
/// rsqrt, broadcasting): no backward written.
#[derive(Module, Init, Clone)]
pub struct RowNorm<B: Backend> {
    #[init(ones)]
    pub weight: Tensor<(Const<4>,), B>,
}
impl<B: Backend> AutoLayer<(Dyn, Const<4>), B> for RowNorm<B> {
    type Output = (Dyn, Const<4>);
    fn forward(&self, x: &Tensor<(Dyn, Const<4>), B>) -> Result<Tensor<(Dyn, Const<4>), B>> {
        let centered = x.sub(&x.mean_keepdim::<1>())?;
        let inv_std = x.var_keepdim::<1>()?.add_scalar(1e-5).rsqrt();
        (&centered * &inv_std) * &self.weight
    }
}

model! {
    /// A model with two autograd layers in the middle.
    pub struct WithAutograd {
        input: [3],
        fc1: Linear<3, 4>,
        act: Tanh,
        #[custom(output = [4])]
        affine: Autograd<ScaleShift<B>>,
        #[custom(output = [4])]
        norm: Autograd<RowNorm<B>>,
        fc2: Linear<4, 2>,
    }
}

fn input(seed: u64) -> Tensor<(Dyn, Const<4>), Cpu64> {
    Tensor::randn(&Cpu64::default(), &[5, 4], 0.0, 1.0, seed).unwrap()
}

#[test]
fn gradients_equal_the_hand_written_layer() {
    let dev = Cpu64::default();
    let mut auto = Autograd(ScaleShift::<Cpu64>::init(&dev, &mut Rng::new(0)));
    auto.0.scale = Tensor::from_vec(&dev, &[4], vec![0.5, -1.0, 2.0, 1.5]).unwrap();
    auto.0.shift = Tensor::from_vec(&dev, &[4], vec![0.1, 0.2, -0.3, 0.0]).unwrap();
    let x = input(1);
    let dy = input(2);
    let (y, cache) = auto.forward_train(&x);
    assert_eq!(y.to_vec(), auto.forward(&x).to_vec());
    let (dx, g) = auto.backward(&cache, &dy).unwrap();
    // by hand: dx = dy ⊙ scale, dscale = Σ_rows dy ⊙ x, dshift = Σ_rows dy
    let (xv, gv, s) = (x.to_vec(), dy.to_vec(), auto.0.scale.to_vec());
    let mut ds = [0.0; 4];
    let mut db = [0.0; 4];
    for i in 0..20 {
        ds[i % 4] += gv[i] * xv[i];
        db[i % 4] += gv[i];
        assert!((dx.to_vec()[i] - gv[i] * s[i % 4]).abs() < 1e-12);
    }
    for j in 0..4 {
        assert!((g.0.scale.to_vec()[j] - ds[j]).abs() < 1e-12);
        assert!((g.0.shift.to_vec()[j] - db[j]).abs() < 1e-12);
    }
    assert_eq!(auto.param_names(), ["scale", "shift"]);
    // the backward frees the graph and hands back the tracked parameters: once per forward
    let err = auto.backward(&cache, &dy).err().expect("a second backward is an Err").to_string();
    assert!(err.contains("run `forward_train` again"), "{err}");
}

#[test]
fn a_model_with_autograd_layers_passes_the_gradient_check() {
    let dev = Cpu64::default();
    let mut m = WithAutograd::<Cpu64>::new(&dev, 3);
    assert_eq!(
        m.param_names(),
        [
            "fc1.weight",
            "fc1.bias",
            "affine.scale",
            "affine.shift",
            "norm.weight",
            "fc2.weight",
            "fc2.bias"
        ]
    );
    let x = Tensor::<(Dyn, Const<3>), Cpu64>::randn(&dev, &[6, 3], 0.0, 1.0, 4).unwrap();
    let dy = Tensor::<(Dyn, Const<2>), Cpu64>::randn(&dev, &[6, 2], 0.0, 1.0, 5).unwrap();
    let (_, cache) = m.forward_train(&x);
    let grads = m.backward(&cache, &dy).unwrap();
    // every parameter against central differences of Σ y ⊙ dy
    let loss = |m: &WithAutograd<Cpu64>| -> f64 {
        m.forward(&x).to_vec().iter().zip(dy.to_vec()).map(|(a, b)| a * b).sum()
    };
    let mut analytic = Vec::new();
    grads.visit_params(&mut String::new(), &mut |n, _, s| {
        analytic.push((n.to_string(), Cpu64::to_host(s)))
    });
    for (name, g) in analytic {
        for i in 0..g.len() {
            let bump = |d: f64| {
                let mut m2 = WithAutograd::<Cpu64>::new(&dev, 3);
                m2.visit_params_mut(&mut String::new(), &mut |n, _, s| {
                    if n == name {
                        let mut v = Cpu64::to_host(s);
                        v[i] += d;
                        *s = Cpu64::upload_like(s, &v);
                    }
                });
                loss(&m2)
            };
            let numeric = (bump(1e-6) - bump(-1e-6)) / 2e-6;
            assert!(
                (g[i] - numeric).abs() < 1e-6 * numeric.abs().max(1.0),
                "{name}[{i}]: {} vs {numeric}",
                g[i]
            );
        }
    }
}

#[test]
fn a_model_with_autograd_layers_trains_with_fit() {
    let dev = Cpu::default();
    let mut m = WithAutograd::<Cpu>::new(&dev, 7);
    let x = Tensor::<(Dyn, Const<3>), Cpu>::randn(&dev, &[256, 3], 0.0, 1.0, 8).unwrap();
    let labels: Vec<usize> =
        x.to_vec().chunks(3).map(|r| usize::from(r[0] + 0.5 * r[1] > 0.0)).collect();
    let data = Dataset::new(x.to_vec(), labels, 3).unwrap();
    let before = m.affine.0.scale.to_vec();
    let cfg = FitConfig {
        epochs: 30,
        batch_size: 32,
        verbosity: Verbosity::Quiet,
        metrics: vec![Metric::Accuracy],
        ..Default::default()
    };
    let mut opt = Adam::new(&m, AdamConfig { lr: 0.02, ..Default::default() });
    let history = fit(&mut m, &mut opt, &dev, &data, &cfg, &mut []).unwrap();
    assert_ne!(
        m.affine.0.scale.to_vec(),
        before,
        "the optimizer updates the autograd layer's parameters"
    );
    let acc = history.last("accuracy").unwrap();
    assert!(acc > 0.9, "accuracy {acc}");
}

#[test]
fn a_written_out_training_loop_with_autograd() {
    // the README's loop with the model written as plain code: no layer types at all
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, Const<3>), Cpu>::randn(&dev, &[128, 3], 0.0, 1.0, 9).unwrap();
    let target = x.narrow::<1, 1>(0).unwrap().mul_scalar(2.0).sin();
    let mut w1 = Tensor::<(Const<3>, Const<16>), Cpu>::randn(&dev, &[3, 16], 0.0, 0.5, 10)
        .unwrap()
        .requires_grad();
    let mut w2 = Tensor::<(Const<16>, Const<1>), Cpu>::randn(&dev, &[16, 1], 0.0, 0.25, 11)
        .unwrap()
        .requires_grad();
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..300 {
        let h = x.matmul(&w1).unwrap().tanh();
        let loss = (&h.matmul(&w2).unwrap() - &target).unwrap().square().mean_all();
        last = loss.item();
        first.get_or_insert(last);
        let g = loss.backward().unwrap();
        let (g1, g2) = (g.wrt(&w1).unwrap(), g.wrt(&w2).unwrap());
        w1 = (&w1.detach() - &g1.mul_scalar(0.1)).unwrap().requires_grad();
        w2 = (&w2.detach() - &g2.mul_scalar(0.1)).unwrap().requires_grad();
    }
    assert!(last < 0.2 * first.unwrap(), "{first:?} -> {last}");
}

#[test]
fn a_layer_whose_module_skips_its_tensors_is_an_err_not_a_zero_gradient() {
    #[derive(Clone)]
    struct Hidden<B: Backend> {
        w: Tensor<(Const<4>,), B>,
    }
    impl<B: Backend> Module<B> for Hidden<B> {
        fn visit_params(&self, p: &mut String, f: &mut shapeflow::module::VisitFn<'_, B>) {
            self.w.visit_params(p, f);
        }
        fn visit_params_mut(
            &mut self,
            p: &mut String,
            f: &mut shapeflow::module::VisitMutFn<'_, B>,
        ) {
            self.w.visit_params_mut(p, f);
        }
        fn visit_params_with_grads(
            &mut self,
            g: &Self,
            p: &mut String,
            f: &mut shapeflow::module::VisitGradsFn<'_, B>,
        ) {
            self.w.visit_params_with_grads(&g.w, p, f);
        }
    }
    impl<B: Backend> AutoLayer<(Dyn, Const<4>), B> for Hidden<B> {
        type Output = (Dyn, Const<4>);
        fn forward(&self, x: &Tensor<(Dyn, Const<4>), B>) -> Result<Tensor<(Dyn, Const<4>), B>> {
            x * &self.w
        }
    }
    let dev = Cpu64::default();
    let mut l = Autograd(Hidden { w: Tensor::ones(&dev, &[4]).unwrap() });
    let (y, cache) = l.forward_train(&input(3));
    let err = l.backward(&cache, &y.ones_like()).err().expect("an Err").to_string();
    assert!(err.contains("visit_tensors_mut"), "{err}");
}
