use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let a = Tensor::<(U2, U3), Cpu>::zeros(&dev, &[2, 3]).unwrap();
    let b = Tensor::<(U4, U5), Cpu>::zeros(&dev, &[4, 5]).unwrap();
    let _ = a.matmul(&b);
}
