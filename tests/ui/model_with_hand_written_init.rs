use shapeflow::prelude::*;

model! {
    pub struct Mlp {
        input: [4],
        fc: Linear<4, 2>,
    }
}

// Written before `model!` implemented `Init` itself; it now conflicts with that impl.
impl<B: Backend> Init<B> for Mlp<B> {
    fn init(dev: &B, rng: &mut Rng) -> Self {
        Mlp { fc: Init::init(dev, rng) }
    }
}

fn main() {}
