//! Trains a small ResNet on MNIST: a bias-free 3×3 stem convolution with batch norm, three
//! residual blocks of 32 channels (the block declared once with `model!` and used at 28×28,
//! 14×14 and 7×7, each with its own weights), max pooling after the first two, global average
//! pooling and a linear head. Adam with a one-cycle-style schedule, batch 64, `fit`: summary,
//! progress, validation accuracy per epoch, the test accuracy at the end, a plot, the weights (torchvision's names:
//! `layer1.0.conv1.weight`) and a resumable checkpoint.
//!
//! ```text
//! cargo run --release -p mnist-resnet -- [--epochs N] [--seed S] [--data DIR] [--out DIR] [--resume] [--device cpu|cuda]
//! ```

use shapeflow::checkpoint;
use shapeflow::fit::LrScheduler;
use shapeflow::optim::ExponentialLr;
use shapeflow::prelude::*;

use mnist_resnet::ResNet;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = shapeflow::example_args::ExampleArgs::parse("mnist-resnet", 4)?;
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
    let mut model = ResNet::<B>::new(dev, args.seed);
    println!("{}\n", model.summary());
    let mut opt = Adam::new(&model, AdamConfig { lr: 2e-3, ..Default::default() });
    let mut decay = LrScheduler::per_epoch(ExponentialLr { gamma: 0.4 });
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
    let history = fit(&mut model, &mut opt, dev, &mnist.train, &config, &mut [&mut decay])?;
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
