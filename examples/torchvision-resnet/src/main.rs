//! A few training steps of torchvision's ResNet-18 (or -34, -50) at 3×224×224, with the
//! profiler's table of one step: where the time and the memory of a real-size step go, layer
//! by layer. The images are MNIST's (shipped in `data/mnist`), each digit scaled from 28×28 to
//! 224×224 by repeating pixels and copied to three channels; the 10 digits are 10 of the 1000
//! classes.
//!
//! ```text
//! cargo run --release -p torchvision-resnet -- [--model resnet18|resnet34|resnet50] [--steps N]
//!     [--batch N] [--profile-step N] [--trace FILE.json] [--data DIR]
//! ```

use shapeflow::data::{Dataset, Mnist};
use shapeflow::fit::{FitConfig, ProfileStep, Trainable, Verbosity, fit};
use shapeflow::prelude::*;
use torchvision_resnet::{ResNet18, ResNet34, ResNet50};

/// The command line.
struct Args {
    model: String,
    steps: usize,
    batch: usize,
    profile_step: usize,
    trace: Option<std::path::PathBuf>,
    data: String,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        model: "resnet18".into(),
        steps: 3,
        batch: 8,
        profile_step: 2,
        trace: None,
        data: "data/mnist".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("`{flag}` needs a value"));
        let number =
            |v: String| v.parse::<usize>().map_err(|_| format!("`{flag}`: `{v}` is not a count"));
        match flag.as_str() {
            "--model" => a.model = value()?,
            "--steps" => a.steps = number(value()?)?,
            "--batch" => a.batch = number(value()?)?,
            "--profile-step" => a.profile_step = number(value()?)?,
            "--trace" => a.trace = Some(value()?.into()),
            "--data" => a.data = value()?,
            other => {
                return Err(format!("unknown argument `{other}` (see the top of src/main.rs)"));
            }
        }
    }
    if a.steps == 0 || a.batch == 0 || a.profile_step == 0 || a.profile_step > a.steps {
        return Err(format!(
            "--steps and --batch must be at least 1 and --profile-step between 1 and --steps ({})",
            a.steps
        ));
    }
    Ok(a)
}

/// The first `n` MNIST digits at 3×224×224: each pixel repeated 8×8, the image in 3 channels.
fn digits_at_224(mnist: &Mnist, n: usize) -> shapeflow::Result<Dataset> {
    let (side, scale) = (224, 8);
    let source = &mnist.train;
    let n = n.min(source.len());
    let mut inputs = Vec::with_capacity(n * 3 * side * side);
    for s in 0..n {
        let digit = &source.inputs()[s * 784..(s + 1) * 784];
        let plane: Vec<f32> =
            (0..side * side).map(|k| digit[(k / side / scale) * 28 + (k % side) / scale]).collect();
        (0..3).for_each(|_| inputs.extend_from_slice(&plane));
    }
    Dataset::new(inputs, source.labels()[..n].to_vec(), 3 * side * side)
}

type Images = (Dyn, Const<3>, Const<224>, Const<224>);

fn train<M: Trainable<Images, Const<1000>, Cpu>>(
    mut model: M,
    args: &Args,
    data: &Dataset,
) -> shapeflow::Result<()> {
    let mut opt = Sgd::new(&model, SgdConfig { lr: 0.01, momentum: 0.9, ..Default::default() });
    let cfg = FitConfig {
        epochs: 1,
        batch_size: args.batch,
        shuffle: false,
        verbosity: Verbosity::Quiet,
        profile: Some(ProfileStep { step: args.profile_step, trace: args.trace.clone() }),
        ..Default::default()
    };
    let history = fit(&mut model, &mut opt, &Cpu::default(), data, &cfg, &mut [])?;
    println!(
        "{} steps of batch {}: loss {:.4}",
        args.steps,
        args.batch,
        history.last("loss").unwrap_or(f64::NAN)
    );
    if let Some(prof) = history.profile() {
        println!("\nstep {} of {}:\n{prof}", args.profile_step, args.model);
    }
    if let Some(path) = &args.trace {
        println!("Chrome trace (chrome://tracing, ui.perfetto.dev): {}", path.display());
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse()?;
    let mnist = Mnist::load(&args.data)?;
    let data = digits_at_224(&mnist, args.steps * args.batch)?;
    let dev = Cpu::default();
    println!("{} on {} MNIST digits at 3×224×224, batch {}", args.model, data.len(), args.batch);
    match args.model.as_str() {
        "resnet18" => train(ResNet18::<Cpu>::new(&dev, 0), &args, &data)?,
        "resnet34" => train(ResNet34::<Cpu>::new(&dev, 0), &args, &data)?,
        "resnet50" => train(ResNet50::<Cpu>::new(&dev, 0), &args, &data)?,
        other => {
            return Err(format!("unknown model `{other}` (resnet18, resnet34, resnet50)").into());
        }
    }
    Ok(())
}
