use shapeflow::data::Dataset;
use shapeflow::prelude::*;

model! {
    pub struct Small {
        input: [4],
        fc: Linear<4, 2>,
    }
}

model! {
    pub struct Large {
        input: [4],
        fc1: Linear<4, 8>,
        fc2: Linear<8, 2>,
    }
}

fn main() {
    let dev = Cpu::default();
    let small = Small::<Cpu>::new(&dev, 0);
    let mut large = Large::<Cpu>::new(&dev, 0);
    let mut opt = Adam::new(&small, AdamConfig::default());
    let data = Dataset::new(vec![0.0; 8], vec![0, 1], 4).unwrap();
    let _ = fit(&mut large, &mut opt, &dev, &data, &FitConfig::default(), &mut []);
}
