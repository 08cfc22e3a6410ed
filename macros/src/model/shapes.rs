//! Expansion-time shape inference: each built-in layer's per-sample output shape, and errors in
//! plain numbers where a layer does not fit what the previous one produces.

use proc_macro2::Span;

use super::parse::ModelDef;
use super::spec::Resolved;

/// Per-sample shapes: `shapes[0]` is the input, `shapes[i + 1]` the output of layer `i`;
/// `None` where a custom layer makes the shape known only to the type system.
pub(crate) struct Flow {
    pub shapes: Vec<Option<Vec<usize>>>,
}

impl Flow {
    /// The last shape known at expansion time (the output, when no custom layer intervenes).
    pub fn last_known(&self) -> &[usize] {
        self.shapes.iter().rev().flatten().next().map_or(&[], Vec::as_slice)
    }
}

fn fmt_shape(s: &[usize]) -> String {
    format!("[{}]", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "))
}

fn product(s: &[usize]) -> String {
    s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" × ")
}

/// PyTorch's window rule along one dimension; `Err(span)` when the window does not fit.
fn window_out(size: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    let span = d * (k - 1) + 1;
    let padded = size + 2 * p;
    (span <= padded && s > 0).then(|| (padded - span) / s + 1)
}

/// State of the walk: the error sink and the trace of shapes so far, for notes.
struct Walk<'a> {
    errors: &'a mut Vec<syn::Error>,
    trace: Vec<String>,
}

impl Walk<'_> {
    fn err(&mut self, span: Span, msg: String) {
        let note = format!("\n  = note: {}", self.trace.join(" → "));
        self.errors.push(syn::Error::new(span, msg + &note));
    }
}

pub(crate) fn infer(def: &ModelDef, layers: &[Resolved], errors: &mut Vec<syn::Error>) -> Flow {
    let input: Vec<usize> = def.input.dims.iter().map(|d| d.0).collect();
    let mut walk = Walk { errors, trace: vec![format!("input {}", fmt_shape(&input))] };
    let mut shapes: Vec<Option<Vec<usize>>> = vec![Some(input)];
    // For a flat shape made by `Flatten`: the shape it flattened and the layer that made it.
    let mut flattened: Option<(Vec<usize>, String)> = None;
    // The last custom layer whose output shape was not stated.
    let mut after_custom: Option<String> = None;
    for (i, (decl, layer)) in def.layers.iter().zip(layers).enumerate() {
        let prev = if i == 0 { "input".to_string() } else { def.layers[i - 1].name.to_string() };
        let name = &decl.name;
        let out = match (layer, shapes[i].clone()) {
            (Resolved::Custom(_, stated), _) => {
                after_custom = stated.is_none().then(|| name.to_string());
                stated.clone()
            }
            // A built-in layer after a custom layer whose output `model!` cannot see: the
            // custom layer must state it, so every later check stays in decimal.
            (l, None) if after_custom.is_some() && !matches!(l, Resolved::Invalid) => {
                let custom = after_custom.take().unwrap_or_default();
                walk.err(
                    name.span(),
                    format!(
                        "`{name}` follows the custom layer `{custom}`, whose output shape `model!` cannot see\n  = help: state it: `#[custom(output = [...])] {custom}: ...`, with its per-sample output shape"
                    ),
                );
                None
            }
            // After a custom layer the shape is the type system's to check.
            (_, None) => None,
            // An invalid layer (already reported): its output is unknown, so the layers after it
            // are not checked against a guess (which could report errors that are not there).
            (Resolved::Invalid, _) => None,
            (Resolved::Linear { input, output }, Some(shape)) => {
                if shape.len() != 1 {
                    walk.err(
                        input.1,
                        format!(
                            "`{name}` (Linear) needs a flat input [features] but `{prev}` produces {}\n  = help: add `flat: Flatten,` before `{name}`; the flat size is {} = {}",
                            fmt_shape(&shape),
                            product(&shape),
                            shape.iter().product::<usize>()
                        ),
                    );
                } else if shape[0] != input.0 {
                    let how = match &flattened {
                        Some((from, by)) if i > 0 && shapes[i].is_some() => format!(
                            " (= {}, the flattened {} of `{by}`)",
                            product(from),
                            fmt_shape(from)
                        ),
                        _ => String::new(),
                    };
                    walk.err(
                        input.1,
                        format!(
                            "`{name}` expects {} input features but `{prev}` produces {}{how}\n  = help: write `{name}: Linear<{}, {output}>`",
                            input.0, shape[0], shape[0]
                        ),
                    );
                }
                Some(vec![*output])
            }
            (
                Resolved::Conv { two_d, input, output, kernel, stride, padding, dilation },
                Some(shape),
            ) => {
                let rank = if *two_d { 3 } else { 2 };
                let kind = if *two_d { "Conv2d" } else { "Conv1d" };
                let layout =
                    if *two_d { "[channels, height, width]" } else { "[channels, length]" };
                if shape.len() != rank {
                    walk.err(
                        input.1,
                        format!(
                            "`{name}` ({kind}) needs an input {layout} but `{prev}` produces {}",
                            fmt_shape(&shape)
                        ),
                    );
                    None
                } else {
                    if shape[0] != input.0 {
                        walk.err(
                            input.1,
                            format!(
                                "`{name}` expects {} input channels but `{prev}` produces {}\n  = help: write `{name}: {kind}<{}, {output}, {}, …>`",
                                input.0, shape[0], shape[0], kernel.0
                            ),
                        );
                    }
                    let spatial = &shape[1..];
                    let outs: Vec<Option<usize>> = spatial
                        .iter()
                        .map(|&s| window_out(s, kernel.0, *stride, *padding, *dilation))
                        .collect();
                    if outs.iter().any(Option::is_none) {
                        let reach = dilation * (kernel.0 - 1) + 1;
                        let k = kernel.0;
                        let what = if *two_d {
                            format!("{k}×{k} kernel")
                        } else {
                            format!("kernel of {k}")
                        };
                        let spans = if *dilation > 1 {
                            format!(" with dilation {dilation} spans {reach} and")
                        } else {
                            String::new()
                        };
                        walk.err(
                            kernel.1,
                            format!(
                                "`{name}`: the {what}{spans} is larger than its padded input {} (`{prev}` produces {}; padding {padding})",
                                spatial.iter().map(|s| (s + 2 * padding).to_string()).collect::<Vec<_>>().join(" × "),
                                product(spatial)
                            ),
                        );
                        None
                    } else {
                        Some(std::iter::once(*output).chain(outs.into_iter().flatten()).collect())
                    }
                }
            }
            (Resolved::Pool { max, kernel, stride, padding }, Some(shape)) => {
                let kind = if *max { "MaxPool2d" } else { "AvgPool2d" };
                if shape.len() != 3 {
                    walk.err(kernel.1, format!("`{name}` ({kind}) needs an input [channels, height, width] but `{prev}` produces {}", fmt_shape(&shape)));
                    None
                } else if 2 * padding.0 > kernel.0 {
                    walk.err(padding.1, format!("`{name}`: padding {} is more than half the kernel size {} (PyTorch's rule for pools)", padding.0, kernel.0));
                    None
                } else {
                    let outs: Vec<Option<usize>> = shape[1..]
                        .iter()
                        .map(|&s| window_out(s, kernel.0, *stride, padding.0, 1))
                        .collect();
                    if outs.iter().any(Option::is_none) {
                        walk.err(
                            kernel.1,
                            format!(
                                "`{name}`: the {k}×{k} pooling window does not fit its input {} from `{prev}` ({} with padding)",
                                product(&shape[1..]),
                                shape[1..].iter().map(|s| (s + 2 * padding.0).to_string()).collect::<Vec<_>>().join(" × "),
                                k = kernel.0
                            ),
                        );
                        None
                    } else {
                        Some(std::iter::once(shape[0]).chain(outs.into_iter().flatten()).collect())
                    }
                }
            }
            (Resolved::GlobalAvgPool, Some(shape)) => {
                if shape.len() != 3 {
                    walk.err(decl.name.span(), format!("`{name}` (GlobalAvgPool2d) needs an input [channels, height, width] but `{prev}` produces {}", fmt_shape(&shape)));
                    None
                } else {
                    Some(vec![shape[0]])
                }
            }
            (Resolved::Flatten, Some(shape)) => {
                let flat = vec![shape.iter().product()];
                if shape.len() > 1 {
                    flattened = Some((shape, prev.clone()));
                }
                Some(flat)
            }
            (Resolved::BatchNorm { two_d, features, .. }, Some(shape)) => {
                let (kind, ok_rank) = if *two_d {
                    ("BatchNorm2d", shape.len() == 3)
                } else {
                    ("BatchNorm1d", shape.len() <= 2)
                };
                if !ok_rank {
                    let layout = if *two_d {
                        "[channels, height, width]"
                    } else {
                        "[features] or [channels, length]"
                    };
                    walk.err(
                        features.1,
                        format!(
                            "`{name}` ({kind}) needs an input {layout} but `{prev}` produces {}",
                            fmt_shape(&shape)
                        ),
                    );
                } else if shape[0] != features.0 {
                    walk.err(
                        features.1,
                        format!("`{name}` normalises {} channels but `{prev}` produces {}\n  = help: write `{name}: {kind}<{}>`", features.0, shape[0], shape[0]),
                    );
                }
                Some(shape)
            }
            (Resolved::Dropout2d(_), Some(shape)) => {
                if shape.len() < 2 {
                    walk.err(decl.name.span(), format!("`{name}` (Dropout2d) drops whole channels and needs an input [channels, …] but `{prev}` produces {}; use `Dropout`", fmt_shape(&shape)));
                }
                Some(shape)
            }
            (_, shape) => shape,
        };
        if !matches!(layer, Resolved::Flatten) && out.as_ref().is_none_or(|s| s.len() != 1) {
            flattened = None;
        }
        if matches!(layer, Resolved::Linear { .. }) {
            flattened = None;
        }
        walk.trace.push(match &out {
            Some(s) => format!("{name} {}", fmt_shape(s)),
            None => format!("{name} [?]"),
        });
        shapes.push(out);
    }
    Flow { shapes }
}
