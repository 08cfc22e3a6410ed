use shapeflow::prelude::*;

model! {
    pub struct Regressor {
        input: [8],
        fc: Linear<8, 10>,
    }
}

fn main() {
    let dev = Cpu::default();
    let model = Regressor::<Cpu>::new(&dev, 0);
    let x = RegressorInput::<Cpu>::zeros(&dev, &[4, 8]).unwrap();
    let target = Tensor::<(Dyn, Const<1>), Cpu>::zeros(&dev, &[4, 1]).unwrap();
    let _ = mse_loss(&model.forward(&x), &target);
}
