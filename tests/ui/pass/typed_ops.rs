use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let a = Tensor::<(U2, U3), Cpu>::zeros(&dev, &[2, 3]).unwrap();
    let b = Tensor::<(U3, U5), Cpu>::zeros(&dev, &[3, 5]).unwrap();
    let c: Tensor<(U2, U5), Cpu> = a.matmul(&b).unwrap();
    let _ = c.add(&c).unwrap();
}
