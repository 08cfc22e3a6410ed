use shapeflow::prelude::*;

model! {
    pub struct Tagger {
        input image: [3, 8, 8],
        input meta: [4],
        flat: Flatten(image),
        fc: Linear<192, 4>,
        sum: Add(fc, meta),
        head: Linear<4, 2>,
    }
}

fn main() {
    let dev = Cpu::default();
    let model = Tagger::<Cpu>::new(&dev, 0);
    let image = Tensor::<(Dyn, Const<3>, Const<8>, Const<8>), Cpu>::zeros(&dev, &[2, 3, 8, 8]).unwrap();
    let meta = Tensor::<(Dyn, Const<4>), Cpu>::zeros(&dev, &[2, 4]).unwrap();
    let _ = model.forward(&meta, &image);
}
