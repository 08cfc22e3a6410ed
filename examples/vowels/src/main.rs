//! Tells the speaker (9 classes) from one utterance of Japanese Vowels: sequences of 12 LPC
//! cepstrum coefficients per frame, 7 to 29 frames, every batch ragged. A bidirectional LSTM
//! runs over each sample's own frames only (no padding ever reaches the result), its last
//! states feed a linear classifier; Adam, batch 16, `fit` with test accuracy per epoch.
//!
//! ```text
//! cargo run --release -p vowels -- [--epochs N] [--seed S] [--data DIR] [--out DIR] [--device cpu|cuda]
//! ```

use shapeflow::checkpoint;
use shapeflow::data::{Standardizer, read_ts};
use shapeflow::prelude::*;

model! {
    /// Speaker classifier over ragged sequences of 12 coefficients per frame.
    pub struct VowelNet {
        input: [seq, 12],
        lstm: Lstm<12, 64, bidirectional = true>, // [seq, 128]
        last: LastStep<bidirectional = true>,     // [128]: forward at each sample's last frame, reverse at its first
        drop: Dropout<p = 0.2>,
        head: Linear<128, 9>,
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args =
        shapeflow::example_args::ExampleArgs::parse_with_data("vowels", 15, "japanese-vowels")?;
    match args.device.as_str() {
        "cpu" => train(&Cpu::default(), &args),
        #[cfg(feature = "cuda")]
        "cuda" => train(&shapeflow::Cuda::new(0)?, &args),
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
) -> Result<(), Box<dyn std::error::Error>> {
    let mut train = read_ts(args.data.join("JapaneseVowels_TRAIN.ts.gz"))?.data;
    let mut test = read_ts(args.data.join("JapaneseVowels_TEST.ts.gz"))?.data;
    // Per-coefficient standardisation with the training frames' statistics.
    let scale = Standardizer::fit(&train)?;
    scale.apply(&mut train)?;
    scale.apply(&mut test)?;
    println!(
        "{} training and {} test sequences, 7-29 frames of 12 coefficients\n",
        train.len(),
        test.len()
    );
    let mut model = VowelNet::<B>::new(dev, args.seed);
    println!("{}\n", model.summary());
    let mut opt = Adam::new(&model, AdamConfig { lr: 2e-3, ..Default::default() });
    let config = FitConfig {
        epochs: args.epochs,
        batch_size: 16,
        seed: args.seed.wrapping_add(1),
        metrics: vec![Metric::Accuracy],
        validation: Validation::Data(test),
        ..Default::default()
    };
    let history = fit(&mut model, &mut opt, dev, &train, &config, &mut [])?;
    history.plot(args.out.join("training.svg"))?;
    checkpoint::save(&model, args.out.join("model.safetensors"))?;
    let acc = history.last("val_accuracy").unwrap_or(0.0);
    println!(
        "test accuracy {:.2}%; wrote {}/{{model.safetensors, training.svg}}",
        100.0 * acc,
        args.out.display()
    );
    Ok(())
}
