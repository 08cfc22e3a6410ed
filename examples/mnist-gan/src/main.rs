//! A generative adversarial network on MNIST, trained with a custom loop: the discriminator
//! learns to tell real digits from generated ones, and the generator learns from the gradient
//! of the discriminator's verdict with respect to its *input* (`backward_with_input`), passed
//! on into the generator's own backward pass. Both are MLPs declared in one `model!`; every
//! shape, including where the generator's output meets the discriminator's input, is checked
//! at compile time. Writes an 8 × 8 grid of generated digits as a PNG after every epoch.
//!
//! ```text
//! cargo run --release -p mnist-gan -- [--epochs N] [--seed S] [--data DIR] [--out DIR] [--device cpu|cuda]
//! ```

mod png;

use shapeflow::module::add_grads;
use shapeflow::prelude::*;

/// Noise numbers per generated image.
const NOISE: usize = 64;
type Noise = (Dyn, Const<NOISE>);
type Images = (Dyn, Const<784>);
type Verdicts = (Dyn, Const<1>);

use mnist_gan::{Discriminator, Generator};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = shapeflow::example_args::ExampleArgs::parse("mnist-gan", 10)?;
    // Pixels in [0, 1] to the generator's range [-1, 1] (not the classifiers' standardisation:
    // real digits outside the generator's reach would be told apart by their range alone).
    let mut mnist = Mnist::load(&args.data)?;
    mnist.train.normalize(0.5, 0.5);
    match args.device.as_str() {
        "cpu" => train(&Cpu::default(), &args, &mnist.train),
        #[cfg(feature = "cuda")]
        "cuda" => train(&shapeflow::Cuda::new(0)?, &args, &mnist.train),
        other => Err(format!(
            "unknown device `{other}` (cpu{})",
            if cfg!(feature = "cuda") { ", cuda" } else { "; build with --features cuda for cuda" }
        )
        .into()),
    }
}

/// A batch of standard-normal noise.
fn noise<B: Backend>(dev: &B, n: usize, rng: &mut Rng) -> shapeflow::Result<Tensor<Noise, B>> {
    let v = (0..n * NOISE).map(|_| B::Elem::from_f64(rng.normal())).collect();
    Tensor::from_vec(dev, &[n, NOISE], v)
}

/// `n` targets of value `v` for the binary cross-entropy.
fn targets<B: Backend>(dev: &B, n: usize, v: f64) -> shapeflow::Result<Tensor<Verdicts, B>> {
    Tensor::from_vec(dev, &[n, 1], vec![B::Elem::from_f64(v); n])
}

/// The mean of the sigmoid of the logits: the discriminator's average "real" probability.
fn mean_probability<B: Backend>(logits: &Tensor<Verdicts, B>) -> f64 {
    let v = logits.to_vec();
    v.iter().map(|&l| 1.0 / (1.0 + (-l.as_f64()).exp())).sum::<f64>() / v.len().max(1) as f64
}

fn train<B: Backend>(
    dev: &B,
    args: &shapeflow::example_args::ExampleArgs,
    train: &Dataset,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut gen_model = Generator::<B>::new(dev, args.seed);
    let mut disc = Discriminator::<B>::new(dev, args.seed.wrapping_add(1));
    println!("{}\n{}\n", gen_model.summary(), disc.summary());
    let config = AdamConfig { lr: 2e-4, betas: (0.5, 0.999), ..Default::default() };
    let (mut opt_g, mut opt_d) = (Adam::new(&gen_model, config), Adam::new(&disc, config));
    let mut rng = Rng::new(args.seed.wrapping_add(2));
    let fixed = noise(dev, 64, &mut Rng::new(args.seed.wrapping_add(3)))?;
    for epoch in 1..=args.epochs {
        let (mut loss_d, mut loss_g, mut p_real, mut p_fake, mut steps) = (0.0, 0.0, 0.0, 0.0, 0);
        let started = std::time::Instant::now();
        for batch in train.batches(64, &mut rng) {
            let real = batch.inputs_tensor::<Images, B>(dev)?;
            let n = real.batch();
            // Discriminator: real digits toward 0.9 (one-sided label smoothing), fakes toward 0.
            // The generator runs in training mode (batch statistics) in both steps.
            let (fake, _) = gen_model.forward_train(&noise(dev, n, &mut rng)?);
            let (on_real, cache) = disc.forward_train(&real);
            let (l_real, d_real) = bce_with_logits(&on_real, &targets(dev, n, 0.9)?)?;
            let mut grads = disc.backward(&cache, &d_real)?;
            let (on_fake, cache) = disc.forward_train(&fake);
            let (l_fake, d_fake) = bce_with_logits(&on_fake, &targets(dev, n, 0.0)?)?;
            add_grads::<B, _>(&mut grads, &disc.backward(&cache, &d_fake)?);
            opt_d.step(&mut disc, &grads)?;
            // Generator: make the discriminator say "real"; its gradient reaches the generator
            // through the discriminator's input.
            let (fake, gen_cache) = gen_model.forward_train(&noise(dev, n, &mut rng)?);
            let (verdict, cache) = disc.forward_train(&fake);
            let (l_gen, d_verdict) = bce_with_logits(&verdict, &targets(dev, n, 1.0)?)?;
            let (d_image, _) = disc.backward_with_input(&cache, &d_verdict)?;
            let gen_grads = gen_model.backward(&gen_cache, &d_image)?;
            opt_g.step(&mut gen_model, &gen_grads)?;
            loss_d += l_real + l_fake;
            loss_g += l_gen;
            p_real += mean_probability(&on_real);
            p_fake += mean_probability(&on_fake);
            steps += 1;
        }
        let s = steps.max(1) as f64;
        let path = args.out.join(format!("digits-epoch{epoch:02}.png"));
        write_grid(&gen_model.forward(&fixed), &path)?;
        println!(
            "epoch {epoch}/{}: discriminator loss {:.3}, generator loss {:.3}, D(real) {:.2}, D(fake) {:.2} ({:.1} s); wrote {}",
            args.epochs,
            loss_d / s,
            loss_g / s,
            p_real / s,
            p_fake / s,
            started.elapsed().as_secs_f64(),
            path.display()
        );
    }
    let last = args.out.join("digits.png");
    write_grid(&gen_model.forward(&fixed), &last)?;
    shapeflow::checkpoint::save(&gen_model, args.out.join("generator.safetensors"))?;
    println!("wrote {} and {}/generator.safetensors", last.display(), args.out.display());
    Ok(())
}

/// 64 images in [-1, 1] as an 8 × 8 grid with 2-pixel gaps, white digits on black.
fn write_grid<B: Backend>(
    images: &Tensor<Images, B>,
    path: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    const SIDE: usize = 8 * 28 + 9 * 2;
    let values = images.to_vec();
    let mut pixels = vec![40u8; SIDE * SIDE];
    for (k, image) in values.chunks(784).take(64).enumerate() {
        let (top, left) = (2 + (k / 8) * 30, 2 + (k % 8) * 30);
        for (i, v) in image.iter().enumerate() {
            let level = ((v.as_f64() + 1.0) * 127.5).clamp(0.0, 255.0) as u8;
            pixels[(top + i / 28) * SIDE + left + i % 28] = level;
        }
    }
    png::write_gray(path, SIDE, SIDE, &pixels)?;
    Ok(())
}
