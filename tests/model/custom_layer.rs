//! A user's own layer: `#[derive(Module)]` for the parameters, a hand-written forward and
//! backward, used inside `model!` with `#[custom]`, trained by Adam, and a model nested in a model.

use shapeflow::prelude::*;

use crate::support::{check_layer, input};

/// `y = x ⊙ scale + shift`, per feature.
#[derive(Module)]
pub struct ScaleShift<B: Backend> {
    pub scale: Tensor<(Const<4>,), B>,
    pub shift: Tensor<(Const<4>,), B>,
    /// Not a parameter.
    #[module(skip)]
    pub calls: usize,
}

impl<B: Backend> Init<B> for ScaleShift<B> {
    fn init(dev: &B, _: &mut Rng) -> Self {
        ScaleShift {
            scale: Tensor::ones(dev, &[4]).unwrap(),
            shift: Tensor::zeros(dev, &[4]).unwrap(),
            calls: 0,
        }
    }
}

impl<B: Backend> Layer<(Dyn, Const<4>), B> for ScaleShift<B> {
    type Output = (Dyn, Const<4>);
    type Cache = Tensor<(Dyn, Const<4>), B>;

    fn forward(&self, x: &Tensor<(Dyn, Const<4>), B>) -> Tensor<(Dyn, Const<4>), B> {
        let (s, b) = (self.scale.to_vec(), self.shift.to_vec());
        let y: Vec<B::Elem> = x
            .to_vec()
            .chunks(4)
            .flat_map(|row| (0..4).map(|j| row[j] * s[j] + b[j]).collect::<Vec<_>>())
            .collect();
        x.from_vec_like(x.dims(), y).unwrap()
    }

    fn forward_train(
        &mut self,
        x: &Tensor<(Dyn, Const<4>), B>,
    ) -> (Tensor<(Dyn, Const<4>), B>, Self::Cache) {
        self.calls += 1;
        (self.forward(x), x.clone())
    }

    fn backward(
        &self,
        x: &Self::Cache,
        dy: &Tensor<(Dyn, Const<4>), B>,
    ) -> shapeflow::Result<(Tensor<(Dyn, Const<4>), B>, Self)> {
        let (xv, g, s) = (x.to_vec(), dy.to_vec(), self.scale.to_vec());
        let zero = <B::Elem as Default>::default();
        let (mut ds, mut db) = (vec![zero; 4], vec![zero; 4]);
        let mut dx = vec![zero; xv.len()];
        for i in 0..xv.len() {
            let j = i % 4;
            ds[j] = ds[j] + g[i] * xv[i];
            db[j] = db[j] + g[i];
            dx[i] = g[i] * s[j];
        }
        let grads = ScaleShift {
            scale: self.scale.from_vec_like(&[4], ds)?,
            shift: self.shift.from_vec_like(&[4], db)?,
            calls: 0,
        };
        Ok((x.from_vec_like(x.dims(), dx)?, grads))
    }
}

model! {
    /// A model with a user layer in the middle.
    pub struct WithCustom {
        input: [3],
        fc1: Linear<3, 4>,
        act: Tanh,
        #[custom(output = [4])]
        /// The user's layer.
        affine: ScaleShift<B>,
        fc2: Linear<4, 2>,
    }
}

model! {
    /// A model used as a layer of another model.
    pub struct Outer {
        input: [3],
        #[custom(output = [2])]
        inner: WithCustom<B>,
        act: Relu,
        head: Linear<2, 2>,
    }
}

#[test]
fn custom_layer_parameters_are_named_and_counted() {
    let m = WithCustom::<Cpu>::new(&Cpu::default(), 0);
    assert_eq!(
        m.param_names(),
        ["fc1.weight", "fc1.bias", "affine.scale", "affine.shift", "fc2.weight", "fc2.bias"]
    );
    assert_eq!(m.num_params(), 16 + 8 + 10);
    let s = m.summary();
    assert_eq!(s.rows[2].kind, "ScaleShift<B>");
    assert_eq!(s.rows[2].output, "[batch, 4]");
    assert_eq!(s.rows[2].params, 8);
}

#[test]
fn custom_layer_and_model_gradient_check() {
    let dev = Cpu64::default();
    let mut layer = ScaleShift::<Cpu64>::init(&dev, &mut Rng::new(0));
    layer.scale = Tensor::from_vec(&dev, &[4], vec![0.5, -1.0, 2.0, 1.5]).unwrap();
    check_layer("ScaleShift", &mut layer, &input::<(Dyn, Const<4>)>(&[3, 4], 30));
    let mut m = WithCustom::<Cpu64>::new(&dev, 4);
    check_layer("WithCustom", &mut m, &input::<(Dyn, Const<3>)>(&[5, 3], 31));
    let mut outer = Outer::<Cpu64>::new(&dev, 5);
    check_layer("Outer", &mut outer, &input::<(Dyn, Const<3>)>(&[5, 3], 32));
}

#[test]
fn a_model_with_a_custom_layer_trains() {
    let dev = Cpu::default();
    let mut m = Outer::<Cpu>::new(&dev, 7);
    let x = Tensor::<(Dyn, Const<3>), Cpu>::randn(&dev, &[32, 3], 0.0, 1.0, 8).unwrap();
    let labels: Vec<usize> = x.to_vec().chunks(3).map(|r| usize::from(r[0] > r[1])).collect();
    let mut opt = Adam::new(&m, AdamConfig { lr: 0.05, ..Default::default() });
    let before = m.inner.affine.scale.to_vec();
    let mut losses = Vec::new();
    for _ in 0..150 {
        let (logits, cache) = m.forward_train(&x);
        let (loss, d) = cross_entropy(&logits, &labels).unwrap();
        losses.push(loss);
        let g = m.backward(&cache, &d).unwrap();
        opt.step(&mut m, &g).unwrap();
    }
    assert!(m.inner.affine.calls == 150);
    assert_ne!(
        m.inner.affine.scale.to_vec(),
        before,
        "the optimizer updates the custom parameters"
    );
    assert!(losses[149] < 0.5 * losses[0], "{} -> {}", losses[0], losses[149]);
    assert_eq!(m.param_names()[2], "inner.affine.scale");
}
