use shapeflow::prelude::*;

model! {
    pub struct Mlp {
        input: [64],
        fc: Linear<64, 10>,
    }
}

fn main() {
    let model = Mlp::<Cpu64>::new(&Cpu64::default(), 0);
    let x = Tensor::<(Dyn, Const<64>), Cpu>::zeros(&Cpu::default(), &[2, 64]).unwrap();
    let _ = model.forward(&x);
}
