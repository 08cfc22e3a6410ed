//! The library's error type: every runtime failure says what went wrong and where.

use std::fmt;

/// A shapeflow error.
///
/// ```
/// let e = shapeflow_core::Error::Length { what: "tensor data".into(), expected: 6, got: 5 };
/// assert_eq!(e.to_string(), "tensor data: expected 6 elements, got 5");
/// // `Debug` prints the message too, so `fn main() -> shapeflow::Result<()>` shows it.
/// assert_eq!(format!("{e:?}"), e.to_string());
/// ```
#[non_exhaustive]
pub enum Error {
    /// A buffer holds the wrong number of elements.
    Length {
        /// What was being built.
        what: String,
        /// Elements the shape needs.
        expected: usize,
        /// Elements supplied.
        got: usize,
    },
    /// Runtime sizes that do not fit a shape (or each other).
    Shape(String),
    /// A class label outside `0..classes`.
    Label {
        /// Position of the label in the batch.
        index: usize,
        /// The label found.
        label: usize,
        /// Number of classes of the model output.
        classes: usize,
    },
    /// An input value that is not an id of the table it indexes (an `Embedding`'s token id
    /// that is negative, fractional, NaN or past the table).
    InvalidId {
        /// The layer.
        layer: String,
        /// The sample (counted from the first sample of the data the call was given).
        sample: usize,
        /// The position (step) within the sample.
        position: usize,
        /// The value found.
        id: f64,
        /// The table's rows: ids are whole numbers in `0..rows`.
        rows: usize,
    },
    /// A loss or value that is NaN or infinite.
    NonFinite(String),
    /// A file could not be read or written.
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file whose contents are not what was expected.
    Format {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A backend could not be used (no driver, a failed kernel compile, …).
    Backend(String),
    /// A configuration that cannot work (a callback monitoring a value that is never logged).
    Config(String),
    /// Something shapeflow does not do yet (a layer kind with no ONNX exporter), named.
    Unsupported(String),
    /// A collective operation of data-parallel training failed: a rank that stopped answering,
    /// a rank whose loss was not finite, an engine error.
    Distributed(String),
    /// Automatic differentiation cannot run as asked (nothing recorded, a freed graph, a
    /// tensor of several elements without a seed).
    Autograd(String),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Length { what, expected, got } => {
                write!(f, "{what}: expected {expected} elements, got {got}")
            }
            Error::Shape(m) => write!(f, "shape error: {m}"),
            Error::Label { index, label, classes } => {
                if *classes == 1 {
                    write!(
                        f,
                        "label {label} at batch position {index} is outside 0..1: a model with one output is a binary classifier; train it with `LossFn::BceWithLogits` on float targets (`Dataset::regression`), or give it one output per class"
                    )
                } else {
                    write!(
                        f,
                        "label {label} at batch position {index} is outside 0..{classes} (the model has {classes} classes)"
                    )
                }
            }
            Error::InvalidId { layer, sample, position, id, rows } => write!(
                f,
                "{layer}: token id {id} at sample {sample}, position {position} is not an id of this table of {rows} rows (ids are whole numbers in 0..{rows})"
            ),
            Error::NonFinite(m) => write!(f, "non-finite value: {m}"),
            Error::Io { path, source } => write!(f, "{path}: {source}"),
            Error::Format { path, message } => write!(f, "{path}: {message}"),
            Error::Backend(m) => write!(f, "backend error: {m}"),
            Error::Config(m) => write!(f, "configuration error: {m}"),
            Error::Unsupported(m) => write!(f, "unsupported: {m}"),
            Error::Distributed(m) => write!(f, "data-parallel training: {m}"),
            Error::Autograd(m) => write!(f, "autograd: {m}"),
        }
    }
}

impl Error {
    /// The same error with sample numbers counted from `first` (a batch's first sample in the
    /// whole dataset) instead of from the batch's start.
    pub(crate) fn counted_from(self, first: usize) -> Self {
        match self {
            Error::InvalidId { layer, sample, position, id, rows } => {
                Error::InvalidId { layer, sample: sample + first, position, id, rows }
            }
            other => other,
        }
    }
}

/// The message, as `Display` writes it: what `main` prints when it returns an `Err`.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An I/O error from the user's own code (a reader of their own), so `?` works on it in a
/// function returning [`Result`]; the library's own I/O errors name their file instead.
///
/// ```
/// fn read_my_file() -> shapeflow_core::Result<String> {
///     Ok(std::fs::read_to_string("/nonexistent/shapeflow-example")?)
/// }
/// let e = read_my_file().unwrap_err().to_string();
/// assert!(e.starts_with("I/O error: "), "{e}");
/// ```
impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io { path: "I/O error".to_string(), source }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
