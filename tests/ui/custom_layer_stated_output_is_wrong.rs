use shapeflow::prelude::*;

/// A user layer whose impl says [batch, 4] → [batch, 3], stated in the model as producing [4].
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
        #[custom(output = [4])]
        squeeze: Squeeze<B>,
        fc: Linear<4, 2>,
    }
}

fn main() {
    let _ = Net::<Cpu>::new(&Cpu::default(), 0);
}
