use shapeflow::prelude::*;

#[derive(Module)]
pub struct Identity<B: Backend> {
    pub w: Tensor<(Const<4>,), B>,
}

model! {
    pub struct Net {
        input: [4],
        #[custom(shape = [4])]
        same: Identity<B>,
        fc: Linear<4, 2>,
    }
}

fn main() {}
