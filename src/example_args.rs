//! Command-line arguments shared by the example model crates.

use std::path::PathBuf;

/// `--epochs N --seed S --data DIR --out DIR --resume`.
///
/// ```
/// let a = shapeflow::example_args::ExampleArgs::from_iter("demo", 3, ["--epochs", "2", "--resume"].map(String::from)).unwrap();
/// assert_eq!((a.epochs, a.resume), (2, true));
/// ```
#[derive(Clone, Debug)]
pub struct ExampleArgs {
    /// Epochs to train.
    pub epochs: usize,
    /// Seed for initialisation and shuffling.
    pub seed: u64,
    /// The MNIST folder.
    pub data: PathBuf,
    /// Where the run's files go (`runs/<name>` by default).
    pub out: PathBuf,
    /// Continue from `out/training.safetensors`.
    pub resume: bool,
    /// `cpu` (default) or `cuda` (needs the example's `cuda` feature and a GPU).
    pub device: String,
}

impl ExampleArgs {
    /// MNIST from `--data`, standardised with the training set's mean and standard deviation
    /// (0.1307, 0.3081), as PyTorch's examples do.
    pub fn load_mnist(&self) -> shapeflow_core::Result<shapeflow_core::data::Mnist> {
        let mut mnist = shapeflow_core::data::Mnist::load(&self.data)?;
        mnist.train.normalize(0.1307, 0.3081);
        mnist.test.normalize(0.1307, 0.3081);
        Ok(mnist)
    }

    /// Parses the process arguments; creates the output folder.
    pub fn parse(name: &str, default_epochs: usize) -> Result<Self, String> {
        Self::from_iter(name, default_epochs, std::env::args().skip(1))
    }

    /// [`ExampleArgs::parse`] for an example whose data is the repository's `data/<folder>`
    /// unless `--data` says otherwise.
    pub fn parse_with_data(
        name: &str,
        default_epochs: usize,
        folder: &str,
    ) -> Result<Self, String> {
        let mut args: Vec<String> = std::env::args().skip(1).collect();
        if !args.iter().any(|a| a == "--data") {
            let dir = format!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/{}"), folder);
            args.extend(["--data".to_string(), dir]);
        }
        Self::from_iter(name, default_epochs, args)
    }

    /// Parses `args`; creates the output folder.
    pub fn from_iter(
        name: &str,
        default_epochs: usize,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Self, String> {
        let mut a = ExampleArgs {
            epochs: default_epochs,
            seed: 0,
            data: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")),
            out: PathBuf::from("runs").join(name),
            resume: false,
            device: "cpu".into(),
        };
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            let mut value = |n: &str| it.next().ok_or(format!("{n} needs a value"));
            match flag.as_str() {
                "--epochs" => {
                    a.epochs = value("--epochs")?.parse().map_err(|e| format!("--epochs: {e}"))?
                }
                "--seed" => {
                    a.seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?
                }
                "--data" => a.data = value("--data")?.into(),
                "--out" => a.out = value("--out")?.into(),
                "--resume" => a.resume = true,
                "--device" => a.device = value("--device")?,
                "-h" | "--help" => {
                    return Err(format!(
                        "usage: {name} [--epochs N ({default_epochs})] [--seed S (0)] [--data DIR (data/mnist)] [--out DIR (runs/{name})] [--resume] [--device cpu|cuda]"
                    ));
                }
                other => return Err(format!("unknown argument `{other}` (try --help)")),
            }
        }
        std::fs::create_dir_all(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
        Ok(a)
    }
}

/// The share of the training set the examples hold out for validation during training (5,000
/// of MNIST's 60,000 images, drawn with the run's seed): the test set stays unseen until the
/// end, so the accuracy reported on it is a test accuracy.
pub const VALIDATION_SHARE: f64 = 1.0 / 12.0;

/// The accuracy of `model` on `test`, data it never saw in training or validation.
///
/// ```
/// use shapeflow::prelude::*;
/// model! { pub struct Tiny { input: [2], fc: Linear<2, 2> } }
/// let dev = Cpu::default();
/// let test = Dataset::new(vec![1.0, 0.0, 0.0, 1.0], vec![0, 1], 2).unwrap();
/// let acc = shapeflow::example_args::test_accuracy(&Tiny::<Cpu>::new(&dev, 0), &dev, &test).unwrap();
/// assert!((0.0..=1.0).contains(&acc));
/// ```
pub fn test_accuracy<M, S, C, B>(
    model: &M,
    dev: &B,
    test: &shapeflow_core::data::Dataset,
) -> shapeflow_core::Result<f64>
where
    M: shapeflow_core::fit::Trainable<S, C, B>,
    S: shapeflow_core::Shape,
    C: shapeflow_core::dim::StaticDim,
    B: shapeflow_core::Backend,
{
    use shapeflow_core::fit::{LossFn, Metric, evaluate_with};
    let logs =
        evaluate_with::<M, S, C, B>(model, dev, test, LossFn::CrossEntropy, &[Metric::Accuracy])?;
    Ok(logs.get("accuracy").copied().unwrap_or(0.0))
}
