use shapeflow::data::Dataset;
use shapeflow::prelude::*;

model! {
    pub struct Mlp {
        input: [4],
        fc: Linear<4, 2>,
    }
}

fn main() {
    let dev = Cpu::default();
    let mut model = Mlp::<Cpu>::new(&dev, 0);
    let opt = Adam::new(&model, AdamConfig::default());
    let data = Dataset::new(vec![0.0; 8], vec![0, 1], 4).unwrap();
    let _ = fit(&mut model, opt, &dev, &data, &FitConfig::default(), &mut []);
}
