use shapeflow::prelude::*;

model! {
    pub struct Inner {
        input: [4],
        fc: Linear<4, 3>,
    }
}

model! {
    pub struct Outer {
        input: [4],
        #[custom(output = [3])]
        inner: Inner<B>,
        act: Relu,
        head: Linear<3, 2>,
    }
}

fn main() {
    let dev = Cpu::default();
    let m = Outer::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Const<4>), Cpu>::zeros(&dev, &[2, 4]).unwrap();
    let y: Tensor<(Dyn, Const<2>), Cpu> = m.forward(&x);
    assert_eq!(y.dims(), &[2, 2]);
}
