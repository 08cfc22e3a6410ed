//! Trains a LeNet-style CNN on MNIST (two conv + pool blocks, two linear layers; Adam, lr 1e-3
//! halved after each epoch, batch 64) with `fit`: summary, progress bars, validation accuracy per
//! epoch on held-out training images, the test accuracy at the end, a plot, the trained weights and a resumable training checkpoint.
//!
//! ```text
//! cargo run --release -p mnist-cnn -- [--epochs N] [--seed S] [--data DIR] [--out DIR] [--resume] [--device cpu|cuda]
//! ```

use shapeflow::checkpoint;
use shapeflow::fit::LrScheduler;
use shapeflow::optim::ExponentialLr;
use shapeflow::prelude::*;

use mnist_cnn::LeNet;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = shapeflow::example_args::ExampleArgs::parse("mnist-cnn", 5)?;
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
    let mut model = LeNet::<B>::new(dev, args.seed);
    println!("{}\n", model.summary());
    let mut opt = Adam::new(&model, AdamConfig { lr: 1e-3, ..Default::default() });
    let mut halve = LrScheduler::per_epoch(ExponentialLr { gamma: 0.5 });
    let config = FitConfig {
        epochs: args.epochs,
        batch_size: 64,
        seed: args.seed.wrapping_add(1),
        metrics: vec![Metric::Accuracy],
        validation: Validation::ShuffledSplit(shapeflow::example_args::VALIDATION_SHARE, args.seed),
        checkpoint: Some(args.out.join("training.safetensors")),
        resume: args.resume,
        ..Default::default()
    };
    let history = fit(&mut model, &mut opt, dev, &mnist.train, &config, &mut [&mut halve])?;
    history.plot(args.out.join("training.svg"))?;
    checkpoint::save(&model, args.out.join("model.safetensors"))?;
    shapeflow::onnx::export(&model, args.out.join("model.onnx"))?;
    let val = history.last("val_accuracy").unwrap_or(0.0);
    let test = shapeflow::example_args::test_accuracy(&model, dev, &mnist.test)?;
    println!(
        "validation accuracy {:.2}% (5,000 held-out training images); test accuracy {:.2}% \
         (the 10,000 test images); wrote {}/{{model.safetensors, model.onnx, training.safetensors, training.svg}}",
        100.0 * val,
        100.0 * test,
        args.out.display()
    );
    Ok(())
}
