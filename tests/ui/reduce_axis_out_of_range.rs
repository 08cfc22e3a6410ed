use shapeflow::prelude::*;

fn main() {
    let x = Tensor::<(Dyn, Const<32>, Const<8>), Cpu>::zeros(&Cpu::default(), &[4, 32, 8]).unwrap();
    let _ = x.sum::<3>();
}
