//! Tells the speaker (9 classes) from one utterance of Japanese Vowels: sequences of 12 LPC
//! cepstrum coefficients per frame, 7 to 29 frames, every batch ragged. A bidirectional LSTM
//! runs over each sample's own frames only (no padding ever reaches the result), its last
//! states feed a linear classifier; Adam, batch 16, `fit` with validation accuracy per epoch
//! (on held-out training sequences) and the test accuracy at the end.
//!
//! `--model transformer` trains a transformer encoder instead (a linear projection, learned
//! positions, two post-norm encoder layers of width 32 and 4 heads whose attention sees each
//! sample's own frames only, a mean over the valid frames, a linear classifier).
//!
//! ```text
//! cargo run --release -p vowels -- [--model lstm|transformer] [--epochs N] [--seed S] [--data DIR] [--out DIR] [--device cpu|cuda]
//! ```

use shapeflow::checkpoint;
use shapeflow::data::{Standardizer, read_ts};
use shapeflow::prelude::*;
use vowels::{VowelNet, VowelTransformer};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    // `--model lstm|transformer` is this example's own flag; the rest are the shared ones.
    let mut rest: Vec<String> = std::env::args().skip(1).collect();
    let transformer = match rest.iter().position(|a| a == "--model") {
        Some(i) => {
            let kind =
                rest.get(i + 1).cloned().ok_or("--model needs a value (lstm or transformer)")?;
            rest.drain(i..i + 2);
            match kind.as_str() {
                "lstm" => false,
                "transformer" => true,
                other => {
                    return Err(format!("--model: `{other}` is not lstm or transformer").into());
                }
            }
        }
        None => false,
    };
    let (name, epochs) = if transformer { ("vowels-transformer", 40) } else { ("vowels", 15) };
    let mut args = shapeflow::example_args::ExampleArgs::from_iter(name, epochs, rest.clone())?;
    if !rest.iter().any(|a| a == "--data") {
        args.data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/japanese-vowels").into();
    }
    match (args.device.as_str(), transformer) {
        ("cpu", false) => train(&Cpu::default(), &args, VowelNet::<Cpu>::new),
        ("cpu", true) => train(&Cpu::default(), &args, VowelTransformer::<Cpu>::new),
        #[cfg(feature = "cuda")]
        ("cuda", false) => train(&shapeflow::Cuda::new(0)?, &args, VowelNet::new),
        #[cfg(feature = "cuda")]
        ("cuda", true) => train(&shapeflow::Cuda::new(0)?, &args, VowelTransformer::new),
        (other, _) => Err(format!(
            "unknown device `{other}` (cpu{})",
            if cfg!(feature = "cuda") { ", cuda" } else { "; build with --features cuda for cuda" }
        )
        .into()),
    }
}

fn train<B, M>(
    dev: &B,
    args: &shapeflow::example_args::ExampleArgs,
    new: impl Fn(&B, u64) -> M,
) -> Result<(), Box<dyn std::error::Error>>
where
    B: Backend,
    M: Layer<(Dyn, Dyn, Const<12>), B, Output = (Dyn, Const<9>)> + Send + Sync + Summarize,
    M::Cache: Send + Sync,
{
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
    let mut model = new(dev, args.seed);
    println!("{}\n", model.describe());
    let mut opt = Adam::new(&model, AdamConfig { lr: 2e-3, ..Default::default() });
    let config = FitConfig {
        epochs: args.epochs,
        batch_size: 16,
        seed: args.seed.wrapping_add(1),
        metrics: vec![Metric::Accuracy],
        // 27 of the 270 training speakers' utterances, drawn with the seed; the test set is kept
        // for the end.
        validation: Validation::ShuffledSplit(0.1, args.seed),
        ..Default::default()
    };
    let history = fit(&mut model, &mut opt, dev, &train, &config, &mut [])?;
    history.plot(args.out.join("training.svg"))?;
    checkpoint::save(&model, args.out.join("model.safetensors"))?;
    let val = history.last("val_accuracy").unwrap_or(0.0);
    let test = shapeflow::example_args::test_accuracy(&model, dev, &test)?;
    println!(
        "validation accuracy {:.2}% (27 held-out training sequences); test accuracy {:.2}% \
         (the 370 test sequences); wrote {}/{{model.safetensors, training.svg}}",
        100.0 * val,
        100.0 * test,
        args.out.display()
    );
    Ok(())
}

/// The two models' summaries, for the generic `train`.
trait Summarize {
    fn describe(&self) -> String;
}

impl<B: Backend> Summarize for VowelNet<B> {
    fn describe(&self) -> String {
        self.summary().to_string()
    }
}

impl<B: Backend> Summarize for VowelTransformer<B> {
    fn describe(&self) -> String {
        self.summary().to_string()
    }
}
