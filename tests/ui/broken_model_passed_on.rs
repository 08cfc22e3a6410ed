use shapeflow::checkpoint;
use shapeflow::fit::{FitConfig, evaluate, fit, predict};
use shapeflow::prelude::*;

model! {
    pub struct Mlp {
        input: [64],
        fc1: Linear<32, 16>,
        act: Relu,
        fc2: Linear<16, 10>,
    }
}

fn main() -> shapeflow::Result<()> {
    // Everything below uses the broken model; only the model's own error is reported.
    let dev = Cpu::default();
    let mut model = Mlp::<Cpu>::new(&dev, 0);
    let data = Dataset::new(vec![0.0; 64], vec![1], 64)?;
    let mut opt = Adam::new(&model, AdamConfig::default());
    fit(&mut model, &mut opt, &dev, &data, &FitConfig::default(), &mut [])?;
    evaluate(&model, &dev, &data, &FitConfig::default())?;
    predict(&model, &dev, &data, 32)?;
    checkpoint::save(&model, "mlp.safetensors")?;
    println!("{model:?} {}", model.summary());
    Ok(())
}
