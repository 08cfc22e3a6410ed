use shapeflow::prelude::*;

// The corrected versions of the model-call cases: the right input, chained models that meet,
// MSE between equal shapes, and a custom layer whose output fits the next layer.
model! {
    pub struct Body {
        input: [784],
        fc: Linear<784, 64>,
        act: Relu,
    }
}

model! {
    pub struct Head {
        input: [64],
        fc: Linear<64, 1>,
    }
}

#[derive(Module)]
pub struct Squeeze<B: Backend> {
    pub w: Tensor<(Const<4>,), B>,
}

impl<B: Backend> Init<B> for Squeeze<B> {
    fn init(dev: &B, _: &mut Rng) -> Self {
        Squeeze { w: Tensor::zeros(dev, &[4]).unwrap() }
    }
}

impl<B: Backend> Layer<(Dyn, Const<4>), B> for Squeeze<B> {
    type Output = (Dyn, Const<3>);
    type Cache = ();
    fn forward(&self, x: &Tensor<(Dyn, Const<4>), B>) -> Tensor<(Dyn, Const<3>), B> {
        x.zeros_with(&[x.batch(), 3]).unwrap()
    }
    fn forward_train(&mut self, x: &Tensor<(Dyn, Const<4>), B>) -> (Tensor<(Dyn, Const<3>), B>, ()) {
        (self.forward(x), ())
    }
    fn backward(&self, _: &(), dy: &Tensor<(Dyn, Const<3>), B>) -> shapeflow::Result<(Tensor<(Dyn, Const<4>), B>, Self)> {
        Ok((dy.zeros_with(&[dy.batch(), 4])?, Squeeze { w: self.w.zeros_like() }))
    }
}

model! {
    pub struct Net {
        input: [4],
        #[custom(output = [3])]
        squeeze: Squeeze<B>,
        fc: Linear<3, 2>,
    }
}

fn main() {
    let dev = Cpu::default();
    let (body, head) = (Body::<Cpu>::new(&dev, 0), Head::<Cpu>::new(&dev, 1));
    let x = BodyInput::<Cpu>::zeros(&dev, &[2, 784]).unwrap();
    let y = head.forward(&body.forward(&x));
    let target = Tensor::<(Dyn, Const<1>), Cpu>::zeros(&dev, &[2, 1]).unwrap();
    assert!(mse_loss(&y, &target).is_ok());
    let net = Net::<Cpu>::new(&dev, 0);
    let z = net.forward(&Tensor::<(Dyn, Const<4>), Cpu>::zeros(&dev, &[1, 4]).unwrap());
    assert_eq!(z.dims(), &[1, 2]);
}
