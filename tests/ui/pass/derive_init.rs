//! `#[derive(Init)]`: tensors started as their attributes say, a nested layer by its own `Init`,
//! a plain field by `Default`.
use shapeflow::prelude::*;

#[derive(Module, Init)]
pub struct Block<B: Backend> {
    #[init(ones)]
    pub scale: Tensor<(Const<4>,), B>,
    #[init(zeros)]
    pub shift: Tensor<(Const<4>,), B>,
    #[init(uniform(0.5))]
    pub mix: Tensor<(Const<4>, Const<4>), B>,
    pub fc: Linear<Const<4>, Const<4>, B>,
    #[module(skip)]
    #[init(default)]
    pub calls: usize,
}

fn main() {
    let b = Block::<Cpu>::init(&Cpu::default(), &mut Rng::new(0));
    assert_eq!(b.scale.to_vec(), vec![1.0; 4]);
    assert_eq!(b.shift.to_vec(), vec![0.0; 4]);
    assert!(b.mix.to_vec().iter().all(|v| v.abs() <= 0.5));
    assert_eq!((b.fc.weight.dims(), b.calls), (&[4usize, 4][..], 0));
}
