use shapeflow::prelude::*;

/// A user layer for [batch, 3] inputs.
#[derive(Module)]
pub struct Scale<B: Backend> {
    pub s: Tensor<(Const<3>,), B>,
}

impl<B: Backend> Init<B> for Scale<B> {
    fn init(dev: &B, _: &mut Rng) -> Self {
        Scale { s: Tensor::ones(dev, &[3]).unwrap() }
    }
}

impl<B: Backend> Layer<(Dyn, Const<3>), B> for Scale<B> {
    type Output = (Dyn, Const<3>);
    type Cache = ();
    fn forward(&self, x: &Tensor<(Dyn, Const<3>), B>) -> Tensor<(Dyn, Const<3>), B> {
        x.clone()
    }
    fn forward_train(&mut self, x: &Tensor<(Dyn, Const<3>), B>) -> (Tensor<(Dyn, Const<3>), B>, ()) {
        (x.clone(), ())
    }
    fn backward(&self, _: &(), dy: &Tensor<(Dyn, Const<3>), B>) -> shapeflow::Result<(Tensor<(Dyn, Const<3>), B>, Self)> {
        Ok((dy.clone(), Scale { s: self.s.zeros_like() }))
    }
}

model! {
    pub struct Net {
        input: [8],
        fc: Linear<8, 4>,
        #[custom(output = [3])]
        scale: Scale<B>,
    }
}

fn main() {
    let _ = Net::<Cpu>::new(&Cpu::default(), 0);
}
