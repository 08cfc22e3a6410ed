//! A character-level language model on the Jargon File (public-domain English, 1.7 MB): an
//! embedding, a 2-layer LSTM and a linear head per step, trained by `fit` with per-step
//! cross-entropy on the first 90 % of the text in windows of 128 characters (Adam, gradient norm
//! clipped at 1; the progress bar counts tokens/s). After each epoch it reports the validation
//! bits per character on the last 10 %, and at the end prints a paragraph sampled from the
//! model.
//!
//! `--model transformer` trains a small decoder-only transformer instead: learned positions, two
//! pre-norm blocks of causal self-attention (width 128, 4 heads) and a GELU feed-forward of 512,
//! a final layer norm and the head.
//!
//! ```text
//! cargo run --release -p char-lm -- [--model lstm|transformer] [--epochs N] [--seed S] [--data DIR] [--out DIR] [--temperature T] [--prompt TEXT]
//! ```

mod text;

use shapeflow::Error;
use shapeflow::checkpoint;
use shapeflow::data::Dataset;
use shapeflow::fit::EpochContext;
use shapeflow::prelude::*;

use char_lm::{CharLm, CharTransformer, Decoder};
use text::{VOCAB, decode, encode};

/// Characters per training window (the model also sees the one after each).
const WINDOW: usize = 128;
const BATCH: usize = 32;

struct Options {
    epochs: usize,
    seed: u64,
    data: std::path::PathBuf,
    out: std::path::PathBuf,
    temperature: f64,
    prompt: String,
    transformer: bool,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        epochs: 3,
        seed: 0,
        data: concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/jargon").into(),
        out: "runs/char-lm".into(),
        temperature: 0.7,
        prompt: "A hacker is ".into(),
        transformer: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--epochs" => o.epochs = value()?.parse().map_err(|e| format!("--epochs: {e}"))?,
            "--seed" => o.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--data" => o.data = value()?.into(),
            "--out" => o.out = value()?.into(),
            "--temperature" => {
                o.temperature = value()?.parse().map_err(|e| format!("--temperature: {e}"))?
            }
            "--prompt" => o.prompt = value()?,
            "--model" => {
                o.transformer = match value()?.as_str() {
                    "lstm" => false,
                    "transformer" => true,
                    other => return Err(format!("--model: `{other}` is not lstm or transformer")),
                }
            }
            "-h" | "--help" => {
                return Err("usage: char-lm [--model lstm|transformer (lstm)] [--epochs N (3)] [--seed S (0)] [--data DIR (data/jargon)] [--out DIR (runs/char-lm)] [--temperature T (0.7)] [--prompt TEXT]".into());
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    if o.temperature.is_nan() || o.temperature <= 0.0 {
        return Err(format!("--temperature must be above 0, got {}", o.temperature));
    }
    if o.prompt.is_empty() {
        return Err("--prompt must have at least one character to continue from".into());
    }
    std::fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    Ok(o)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Windows of `WINDOW` characters starting every `WINDOW` characters, each labelled with the
/// characters that follow its characters: a dataset with a label per step.
fn windows(ids: &[usize]) -> Result<Dataset, Error> {
    let n = ids.len().saturating_sub(1) / WINDOW;
    let inputs = (0..n)
        .map(|i| ids[i * WINDOW..(i + 1) * WINDOW].iter().map(|&c| c as f32).collect())
        .collect();
    let labels = (0..n).map(|i| ids[i * WINDOW + 1..(i + 1) * WINDOW + 1].to_vec()).collect();
    Dataset::sequences_with_step_labels(inputs, labels, 1)
}

/// The next character, drawn from `logits`' softmax at `temperature`.
fn draw(logits: &[f32], temperature: f64, rng: &mut Rng) -> usize {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let weights: Vec<f64> =
        logits.iter().map(|&v| ((v as f64 - max) / temperature).exp()).collect();
    let mut u = rng.uniform_in(0.0, weights.iter().sum());
    weights
        .iter()
        .position(|&w| {
            u -= w;
            u <= 0.0
        })
        .unwrap_or(VOCAB - 1)
}

/// `length` characters after `prompt`, each drawn from the model's softmax at `temperature`
/// given the last `WINDOW` characters (a forward pass over the window per character).
fn sample<M: Layer<(Dyn, Dyn), Cpu, Output = (Dyn, Dyn, Const<96>)>>(
    model: &M,
    dev: &Cpu,
    prompt: &str,
    length: usize,
    temperature: f64,
    seed: u64,
) -> Result<String, Error> {
    let mut rng = Rng::new(seed);
    let mut ids: Vec<usize> = prompt.chars().map(encode).collect();
    for _ in 0..length {
        let context = &ids[ids.len().saturating_sub(WINDOW)..];
        let x = Tensor::<(Dyn, Dyn), Cpu>::from_sequences(
            dev,
            &[context.iter().map(|&c| c as f32).collect::<Vec<_>>()],
        )?;
        let logits = model.forward(&x).to_vec();
        ids.push(draw(
            &logits[(context.len() - 1) * VOCAB..context.len() * VOCAB],
            temperature,
            &mut rng,
        ));
    }
    Ok(ids.into_iter().map(decode).collect())
}

/// [`sample`] for the transformer with its key/value caches: the prompt once, then one step of
/// every layer per character. At the position table's end (`WINDOW`) it starts again from the
/// last half window. Gives the same characters as [`sample`] while the text fits the window.
fn sample_cached(
    model: &CharTransformer<Cpu>,
    dev: &Cpu,
    prompt: &str,
    length: usize,
    temperature: f64,
    seed: u64,
) -> Result<String, Error> {
    let mut rng = Rng::new(seed);
    let mut ids: Vec<usize> = prompt.chars().map(encode).collect();
    let mut decoder = Decoder::new(model);
    let start = ids.len().saturating_sub(WINDOW);
    let mut logits = decoder.feed(dev, &ids[start..])?;
    for _ in 0..length {
        let next = draw(&logits, temperature, &mut rng);
        ids.push(next);
        logits = if decoder.position() < WINDOW {
            decoder.feed(dev, &[next])?
        } else {
            decoder.clear();
            decoder.feed(dev, &ids[ids.len() - WINDOW / 2..])?
        };
    }
    Ok(ids.into_iter().map(decode).collect())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let o = options()?;
    let dev = Cpu::default();
    let ids = text::load(&o.data.join("jargon.txt.gz"))?;
    let cut = ids.len() * 9 / 10;
    let (train_ids, val) = (&ids[..cut], &ids[cut..]);
    println!(
        "Jargon File: {} characters, {} for training, {} for validation, {VOCAB} symbols\n",
        ids.len(),
        train_ids.len(),
        val.len()
    );
    let (p, t, seed) = (&o.prompt, o.temperature, o.seed);
    let text = if o.transformer {
        let model = CharTransformer::<Cpu>::new(&dev, o.seed);
        println!("{}\n", model.summary());
        let model = train(model, &dev, &o, train_ids, val, 3e-3)?;
        // The key/value cache against a forward pass over the window per character.
        let clock = std::time::Instant::now();
        let text = sample_cached(&model, &dev, p, 400, t, seed)?;
        let cached = clock.elapsed().as_secs_f64() * 1e3 / 400.0;
        let clock = std::time::Instant::now();
        sample(&model, &dev, p, 100, t, seed)?;
        let full = clock.elapsed().as_secs_f64() * 1e3 / 100.0;
        println!(
            "\nsampling: {cached:.2} ms per character with the key/value cache, {full:.2} ms \
             recomputing the window"
        );
        text
    } else {
        let model = CharLm::<Cpu>::new(&dev, o.seed);
        println!("{}\n", model.summary());
        let model = train(model, &dev, &o, train_ids, val, 3e-3)?;
        sample(&model, &dev, p, 400, t, seed)?
    };
    println!("\nsampled at temperature {t} (seed {seed}):\n\n{text}\n");
    Ok(())
}

/// Trains `model` with `fit`, reports bits per character and saves it.
fn train<M>(
    mut model: M,
    dev: &Cpu,
    o: &Options,
    train: &[usize],
    val: &[usize],
    lr: f64,
) -> Result<M, Box<dyn std::error::Error>>
where
    M: Layer<(Dyn, Dyn), Cpu, Output = (Dyn, Dyn, Const<96>)> + Send + Sync,
    M::Cache: Send + Sync,
{
    let out = o.out.join(if o.transformer { "transformer" } else { "lstm" });
    std::fs::create_dir_all(&out)?;
    let mut opt = Adam::new(&model, AdamConfig { lr, ..Default::default() });
    let config = FitConfig {
        epochs: o.epochs,
        batch_size: BATCH,
        seed: o.seed.wrapping_add(1),
        clip_grad_norm: Some(1.0),
        validation: Validation::Data(windows(val)?),
        ..Default::default()
    };
    // The loss is in nats per character; bits per character divide it by ln 2.
    let mut report = |ctx: &mut EpochContext<'_, M>| -> shapeflow::Result<()> {
        let bpc = ctx.logs.get("val_loss").copied().unwrap_or(f64::NAN) / std::f64::consts::LN_2;
        println!("epoch {}: validation {bpc:.3} bits/char", ctx.epoch);
        Ok(())
    };
    let history = fit(&mut model, &mut opt, dev, &windows(train)?, &config, &mut [&mut report])?;
    history.plot(out.join("training.svg"))?;
    checkpoint::save(&model, out.join("model.safetensors"))?;
    println!("wrote {}/{{model.safetensors, training.svg}}", out.display());
    Ok(model)
}
