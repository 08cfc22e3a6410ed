use shapeflow::prelude::*;

// The corrected versions of the syntax cases (named and positional arguments, defaults) and of
// the optimizer cases (`step` and `fit` with the model the optimizer was built for).
model! {
    pub struct Mlp {
        input: [784],
        fc1: Linear<in_features = 784, out_features = 128>,
        act: LeakyRelu<negative_slope = 0.1>,
        drop: Dropout<p = 0.5>,
        fc2: Linear<128, 10>,
        out: Softmax,
    }
}

fn main() {
    let dev = Cpu::default();
    let mut model = Mlp::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Const<784>), Cpu>::zeros(&dev, &[1, 784]).unwrap();
    let (y, cache) = model.forward_train(&x);
    let _ = model.backward(&cache, &y);
    let small = Mlp::<Cpu>::new(&dev, 1);
    let mut opt = Adam::new(&small, AdamConfig::default());
    let grads = Mlp::<Cpu>::new(&dev, 2);
    let mut target = Mlp::<Cpu>::new(&dev, 3);
    opt.step(&mut target, &grads).unwrap();
    // `fit` with `&mut` the optimizer built for this model type (the twin of
    // `fit_with_an_optimizer_for_another_model` and `fit_given_the_optimizer_by_value`).
    let data = shapeflow::data::Dataset::new(vec![0.0; 2 * 784], vec![0, 1], 784).unwrap();
    let config = FitConfig { epochs: 1, verbosity: shapeflow::fit::Verbosity::Quiet, ..Default::default() };
    assert!(fit(&mut target, &mut opt, &dev, &data, &config, &mut []).is_ok());
}
