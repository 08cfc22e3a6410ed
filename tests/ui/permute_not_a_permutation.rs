use shapeflow::prelude::*;

fn main() {
    let x = Tensor::<(Dyn, Const<3>, Const<8>), Cpu>::zeros(&Cpu::default(), &[4, 3, 8]).unwrap();
    let _ = x.permute::<Axes3<0, 2, 2>>();
}
