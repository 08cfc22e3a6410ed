//! Trains a 784-512-256-10 ReLU MLP on MNIST (Adam, lr 1e-3, batch 128) with `fit`: the summary,
//! a progress bar per epoch with the accuracy on 5,000 held-out training images, the test accuracy at the end, a plot of the run, the trained
//! weights (PyTorch-compatible safetensors) and a training checkpoint that `--resume` continues.
//!
//! ```text
//! cargo run --release -p mnist-mlp -- [--epochs N] [--seed S] [--data DIR] [--out DIR] [--resume] [--device cpu|cuda]
//! ```

use shapeflow::checkpoint;
use shapeflow::prelude::*;

use mnist_mlp::Mlp;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = shapeflow::example_args::ExampleArgs::parse("mnist-mlp", 3)?;
    let mnist = args.load_mnist()?;
    match args.device.as_str() {
        "cpu" => train(&Cpu::default(), &args, &mnist),
        #[cfg(feature = "cuda")]
        "cuda" => train(&shapeflow::Cuda::new(0)?, &args, &mnist),
        other => Err(format!(
            "unknown device `{other}` (cpu{})",
            if cfg!(feature = "cuda") { ", cuda" } else { "; build with --features cuda for cuda" }
        )
        .into()),
    }
}

fn train<B: Backend>(
    dev: &B,
    args: &shapeflow::example_args::ExampleArgs,
    mnist: &Mnist,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut model = Mlp::<B>::new(dev, args.seed);
    println!("{}\n", model.summary());
    let mut opt = Adam::new(&model, AdamConfig { lr: 1e-3, ..Default::default() });
    let config = FitConfig {
        epochs: args.epochs,
        batch_size: 128,
        seed: args.seed.wrapping_add(1),
        metrics: vec![Metric::Accuracy],
        validation: Validation::ShuffledSplit(shapeflow::example_args::VALIDATION_SHARE, args.seed),
        checkpoint: Some(args.out.join("training.safetensors")),
        resume: args.resume,
        ..Default::default()
    };
    let history = fit(&mut model, &mut opt, dev, &mnist.train, &config, &mut [])?;
    history.plot(args.out.join("training.svg"))?;
    checkpoint::save(&model, args.out.join("model.safetensors"))?;
    let val = history.last("val_accuracy").unwrap_or(0.0);
    let test = shapeflow::example_args::test_accuracy(&model, dev, &mnist.test)?;
    println!(
        "validation accuracy {:.2}% (5,000 held-out training images); test accuracy {:.2}% \
         (the 10,000 test images); wrote {}/{{model.safetensors, training.safetensors, training.svg}}",
        100.0 * val,
        100.0 * test,
        args.out.display()
    );
    Ok(())
}
