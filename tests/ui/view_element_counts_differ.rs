use shapeflow::prelude::*;

fn main() {
    let x = Tensor::<(Const<2>, Const<3>), Cpu>::zeros(&Cpu::default(), &[2, 3]).unwrap();
    let _ = x.view::<(Const<7>,)>();
}
