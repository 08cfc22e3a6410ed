//! Trains a 784-512-256-10 ReLU MLP on MNIST (Adam, lr 1e-3, batch 128) and reports test
//! accuracy after each epoch.
//!
//! ```text
//! cargo run --release -p mnist-mlp -- [--epochs N] [--seed S] [--data DIR]
//! ```

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use shapeflow::data::Mnist;
use shapeflow::metrics::accuracy;
use shapeflow::prelude::*;

model! {
    /// The classic MNIST multi-layer perceptron.
    pub struct Mlp {
        input: [784],
        fc1: Linear<784, 512>,
        act1: Relu,
        fc2: Linear<512, 256>,
        act2: Relu,
        fc3: Linear<256, 10>,
    }
}

struct Args {
    epochs: usize,
    seed: u64,
    data: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        epochs: 3,
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
                    "usage: mnist-mlp [--epochs N (3)] [--seed S (0)] [--data DIR (data/mnist)]"
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
    let mut model = Mlp::<Cpu>::new(&dev, args.seed);
    println!("{}\n", model.summary());
    let mut opt = Adam::new(&model, AdamConfig { lr: 1e-3, ..Default::default() });
    let mut rng = Rng::new(args.seed.wrapping_add(1));
    let batch_size = 128;
    for epoch in 1..=args.epochs {
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
            let x = batch.inputs_tensor::<(Dyn, U784), Cpu>(&dev)?;
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
