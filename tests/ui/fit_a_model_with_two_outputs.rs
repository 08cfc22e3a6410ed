use shapeflow::data::Dataset;
use shapeflow::prelude::*;

model! {
    pub struct TwoHeads {
        input x: [4],
        cls: Linear<4, 3>(x),
        reg: Linear<4, 1>(x),
        output (cls, reg)
    }
}

fn main() {
    let dev = Cpu::default();
    let mut model = TwoHeads::<Cpu>::new(&dev, 0);
    let mut opt = Adam::new(&model, AdamConfig::default());
    let data = Dataset::new(vec![0.0; 8], vec![0, 1], 4).unwrap();
    let _ = fit(&mut model, &mut opt, &dev, &data, &FitConfig::default(), &mut []);
}
