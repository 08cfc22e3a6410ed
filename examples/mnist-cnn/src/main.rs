//! Trains a LeNet-style CNN on MNIST (two conv + pool blocks, two linear layers; Adam, lr 1e-3,
//! batch 64, the learning rate halved after each epoch) and reports test
//! accuracy after each epoch.
//!
//! ```text
//! cargo run --release -p mnist-cnn -- [--epochs N] [--seed S] [--data DIR]
//! ```

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use shapeflow::data::Mnist;
use shapeflow::metrics::accuracy;
use shapeflow::prelude::*;

model! {
    /// LeNet-style digit classifier: every shape below is checked at compile time.
    pub struct LeNet {
        input: [1, 28, 28],
        conv1: Conv2d<1, 16, 5, padding = 2>,   // [16, 28, 28]
        act1: Relu,
        pool1: MaxPool2d<2>,                    // [16, 14, 14]
        conv2: Conv2d<16, 32, 5, padding = 2>,  // [32, 14, 14]
        act2: Relu,
        pool2: MaxPool2d<2>,                    // [32, 7, 7]
        flat: Flatten,                          // [1568]
        fc1: Linear<1568, 128>,
        act3: Relu,
        fc2: Linear<128, 10>,
    }
}

struct Args {
    epochs: usize,
    seed: u64,
    data: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        epochs: 5,
        seed: 0,
        data: concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/mnist").to_string(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--epochs" => {
                args.epochs = value("--epochs")?.parse().map_err(|e| format!("--epochs: {e}"))?
            }
            "--seed" => args.seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--data" => args.data = value("--data")?,
            "-h" | "--help" => {
                println!(
                    "usage: mnist-cnn [--epochs N (5)] [--seed S (0)] [--data DIR (data/mnist)]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok(args)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let mut mnist = Mnist::load(&args.data)?;
    // Standardise with the training set's mean and standard deviation, as PyTorch's examples do.
    mnist.train.normalize(0.1307, 0.3081);
    mnist.test.normalize(0.1307, 0.3081);
    let dev = Cpu::default();
    let mut model = LeNet::<Cpu>::new(&dev, args.seed);
    println!("{}\n", model.summary());
    let mut opt = Adam::new(&model, AdamConfig { lr: 1e-3, ..Default::default() });
    let mut rng = Rng::new(args.seed.wrapping_add(1));
    let batch_size = 64;
    for epoch in 1..=args.epochs {
        // Halve the learning rate after every epoch: it settles the last epochs' accuracy.
        if epoch > 1 {
            opt.set_lr(opt.lr() * 0.5);
        }
        let batches = mnist.train.batches(batch_size, &mut rng);
        let bar = ProgressBar::new(batches.remaining() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} {msg} (eta {eta})",
            )?
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{}", args.epochs));
        let start = Instant::now();
        let (mut running, mut seen) = (0.0f64, 0usize);
        for (i, batch) in batches.enumerate() {
            let x = batch.inputs_tensor::<(Dyn, U1, U28, U28), Cpu>(&dev)?;
            let (logits, cache) = model.forward_train(&x);
            let (loss, dlogits) = cross_entropy(&logits, &batch.labels)?;
            let grads = model.backward(&cache, &dlogits)?;
            opt.step(&mut model, &grads)?;
            running = if i == 0 { loss } else { 0.98 * running + 0.02 * loss };
            seen += batch.len();
            let rate = seen as f64 / start.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("loss {running:.4} | {rate:.0} samples/s"));
            bar.inc(1);
        }
        bar.finish();
        let secs = start.elapsed().as_secs_f64();
        let acc = accuracy(&dev, &mnist.test, 1000, |x| model.forward(x))?;
        println!(
            "epoch {epoch}: loss {running:.4}, {:.0} samples/s, test accuracy {:.2}%",
            seen as f64 / secs,
            100.0 * acc
        );
    }
    Ok(())
}
