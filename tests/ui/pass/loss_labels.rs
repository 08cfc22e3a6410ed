use shapeflow::prelude::*;

// The corrected version: labels built for the model's 10 classes, or plain (run-time checked).
model! {
    pub struct Digits {
        input: [784],
        fc: Linear<784, 10>,
    }
}

fn main() {
    let dev = Cpu::default();
    let model = Digits::<Cpu>::new(&dev, 0);
    let x = DigitsInput::<Cpu>::zeros(&dev, &[2, 784]).unwrap();
    let labels = Labels::<Const<10>>::new(vec![1, 9]).unwrap();
    assert!(cross_entropy(&model.forward(&x), &labels).is_ok());
    assert!(cross_entropy(&model.forward(&x), &[1, 9]).is_ok());
    assert!(nll_loss(&model.forward(&x), &vec![1, 9]).is_ok());
    let plain: Vec<usize> = vec![1, 9, 3];
    assert!(cross_entropy(&model.forward(&x), &plain[..2]).is_ok());
    assert!(cross_entropy(&model.forward(&x), plain[..2].as_ref()).is_ok());
    assert!(generic_loss(&dev, &x, &labels) >= 0.0);
}

// Code generic over the backend: the model's input, labels and optimizer types line up.
fn generic_loss<B: Backend>(dev: &B, x: &DigitsInput<B>, labels: &Labels<Const<10>>) -> f64
where
    Digits<B>: Send + Sync,
{
    let mut model = Digits::<B>::new(dev, 0);
    let (y, cache) = model.forward_train(x);
    let (loss, dy) = cross_entropy(&y, labels).unwrap();
    let grads = model.backward(&cache, &dy).unwrap();
    let mut opt = Sgd::new(&model, SgdConfig::default());
    opt.step(&mut model, &grads).unwrap();
    let _ = model.forward(x);
    let data = shapeflow::data::Dataset::new(vec![0.5; 2 * 784], vec![1, 9], 784).unwrap();
    let config = FitConfig { epochs: 1, verbosity: shapeflow::fit::Verbosity::Quiet, ..Default::default() };
    assert!(generic_fit(&mut model, &mut opt, dev, &data, &config));
    loss
}

// `fit` in code generic over the optimizer.
fn generic_fit<B: Backend, O>(model: &mut Digits<B>, opt: &mut O, dev: &B, data: &shapeflow::data::Dataset, config: &FitConfig) -> bool
where
    Digits<B>: Send + Sync,
    O: shapeflow::optim::Optimizer<Digits<B>> + Send,
{
    fit(model, opt, dev, data, config, &mut []).is_ok()
}
