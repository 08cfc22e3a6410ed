//! The LeNet CNN that `mnist-cnn` trains, for a web page: built for `wasm32-unknown-unknown`,
//! it exports a small C ABI that `www/shapeflow.js` wraps (load a checkpoint's bytes, classify
//! a batch of 28×28 images). Every error is a message the JavaScript side throws as an `Error`,
//! with the text it has in Rust.
//!
//! ```
//! let mut net = web_mnist::Classifier::new();
//! assert!(net.predict(&[0.0; 784]).unwrap_err().contains("no checkpoint is loaded"));
//! let e = net.load(b"not a checkpoint").unwrap_err();
//! assert!(e.starts_with("model.safetensors: not a valid safetensors file"), "{e}");
//! ```

mod abi;

use mnist_cnn::LeNet;
use shapeflow::prelude::*;

/// Pixels per image.
pub const PIXELS: usize = 28 * 28;
/// Outputs (logits) per image.
pub const CLASSES: usize = 10;

/// The classifier: a LeNet on the CPU backend, once a checkpoint is loaded.
pub struct Classifier {
    model: Option<LeNet<Cpu>>,
}

impl Default for Classifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Classifier {
    /// No checkpoint loaded yet.
    pub fn new() -> Self {
        Self { model: None }
    }

    /// Loads `mnist-cnn`'s checkpoint from its bytes; on an error the previous model stays.
    pub fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let dev = Cpu::default();
        let mut model = LeNet::<Cpu>::new(&dev, 0);
        shapeflow::checkpoint::load_bytes(&mut model, bytes, "model.safetensors")
            .map_err(|e| e.to_string())?;
        self.model = Some(model);
        Ok(())
    }

    /// The logits of the images in `pixels` (each 784 values, already standardised as the
    /// model was trained), 10 per image.
    pub fn predict(&self, pixels: &[f32]) -> Result<Vec<f32>, String> {
        let model = self.model.as_ref().ok_or("no checkpoint is loaded: call load first")?;
        if pixels.is_empty() || !pixels.len().is_multiple_of(PIXELS) {
            return Err(format!(
                "expected a whole number of 28×28 images ({PIXELS} values each), got {} values",
                pixels.len()
            ));
        }
        if let Some(i) = pixels.iter().position(|v| !v.is_finite()) {
            return Err(format!("pixel {} of image {} is not finite", i % PIXELS, i / PIXELS));
        }
        let dev = Cpu::default();
        let x = Tensor::<(Dyn, Const<1>, Const<28>, Const<28>), Cpu>::from_batch(
            &dev,
            pixels.len() / PIXELS,
            pixels.to_vec(),
        )
        .map_err(|e| e.to_string())?;
        Ok(model.forward(&x).to_vec())
    }
}
