//! Trains the 784-512-256-10 MLP of `mnist-mlp` on MNIST data-parallel over MPI: every rank
//! takes its shard of each global batch (64 samples per rank), gradients are averaged before
//! each Adam step, and rank 0 prints the progress bar and writes the checkpoint and the
//! weights. The result equals one process training with batch 64 × ranks.
//!
//! ```text
//! cargo build --release -p mnist-parallel
//! mpirun -np 2 target/release/mnist-parallel [--epochs N] [--seed S] [--data DIR] [--out DIR] [--resume]
//! ```

use std::time::Instant;

use shapeflow::checkpoint;
use shapeflow::distributed::{DataParallel, Mpi};
use shapeflow::prelude::*;

use mnist_mlp::Mlp;

fn main() {
    if let Err(e) = run() {
        // Exiting non-zero makes mpirun stop the other ranks at once.
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = shapeflow::example_args::ExampleArgs::parse("mnist-parallel", 3)?;
    let mpi = Mpi::init()?;
    let library = mpi.library().to_string();
    let dp = DataParallel::new(mpi);
    let mnist = args.load_mnist()?;
    let dev = Cpu::default();
    let mut model = Mlp::<Cpu>::new(&dev, args.seed);
    if dp.is_main() {
        println!("{}\n", model.summary());
        println!(
            "data-parallel over MPI ({library}): {} ranks × 64 samples per step\n",
            dp.world()
        );
    }
    let mut opt = Adam::new(&model, AdamConfig { lr: 1e-3, ..Default::default() });
    let config = FitConfig {
        epochs: args.epochs,
        batch_size: 64,
        seed: args.seed.wrapping_add(1),
        metrics: vec![Metric::Accuracy],
        validation: Validation::ShuffledSplit(shapeflow::example_args::VALIDATION_SHARE, args.seed),
        checkpoint: Some(args.out.join("training.safetensors")),
        resume: args.resume,
        parallel: Some(dp.clone()),
        ..Default::default()
    };
    let start = Instant::now();
    let history = fit(&mut model, &mut opt, &dev, &mnist.train, &config, &mut [])?;
    let seconds = start.elapsed().as_secs_f64();
    if dp.is_main() {
        checkpoint::save(&model, args.out.join("model.safetensors"))?;
        let stats = dp.stats();
        // Epochs trained by this run (a resumed run skips the ones in the checkpoint).
        let per_epoch = mnist.train.len().div_ceil(64 * dp.world()) as u64;
        let epochs = (stats.steps / per_epoch.max(1)) as f64;
        let test = shapeflow::example_args::test_accuracy(&model, &dev, &mnist.test)?;
        println!(
            "validation accuracy {:.2}%; test accuracy {:.2}%; {:.0} samples/s over {} ranks; \
             all-reduce wait {:.2} ms per step ({:.1} MB of gradients per step); wrote \
             {}/{{model.safetensors, training.safetensors}}",
            100.0 * history.last("val_accuracy").unwrap_or(0.0),
            100.0 * test,
            mnist.train.len() as f64 * epochs / seconds,
            dp.world(),
            1e3 * stats.wait_s / stats.steps.max(1) as f64,
            stats.bytes as f64 / stats.steps.max(1) as f64 / 1e6,
            args.out.display()
        );
    }
    Ok(())
}
