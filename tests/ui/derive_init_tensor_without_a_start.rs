use shapeflow::prelude::*;

#[derive(Module, Init)]
pub struct Affine<B: Backend> {
    pub weight: Tensor<(Const<4>,), B>,
    #[init(halves)]
    pub bias: Tensor<(Const<4>,), B>,
}

fn main() {}
