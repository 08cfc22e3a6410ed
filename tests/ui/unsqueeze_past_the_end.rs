use shapeflow::prelude::*;

fn main() {
    let x = Tensor::<(Dyn, Const<3>), Cpu>::zeros(&Cpu::default(), &[4, 3]).unwrap();
    let _ = x.unsqueeze::<3>();
}
