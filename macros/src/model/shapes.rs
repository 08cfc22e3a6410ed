//! Expansion-time shape inference: each built-in layer's per-sample output shape, and errors in
//! plain numbers where a layer does not fit what the previous one produces.

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

pub(crate) fn infer(def: &ModelDef, layers: &[Resolved], errors: &mut Vec<syn::Error>) -> Flow {
    let mut shapes: Vec<Option<Vec<usize>>> =
        vec![Some(def.input.dims.iter().map(|d| d.0).collect())];
    // "input [784] → fc1 [512] → …", for notes on errors.
    let mut trace: Vec<String> =
        vec![format!("input {}", fmt_shape(shapes[0].as_deref().unwrap_or(&[])))];
    for (i, (decl, layer)) in def.layers.iter().zip(layers).enumerate() {
        let prev_name =
            if i == 0 { "input".to_string() } else { def.layers[i - 1].name.to_string() };
        let name = &decl.name;
        let current = shapes[i].clone();
        let out = match (layer, current) {
            (Resolved::Custom(_), _) => None,
            // An invalid layer (already reported) passes its input on as a best guess, so one
            // mistake does not hide the checks of the layers after it.
            (Resolved::Invalid, shape) => shape,
            // After a custom layer the shape is the type system's to check: stay unknown, so the
            // generated types are the layers' own associated `Output`s.
            (_, None) => None,
            (Resolved::Linear { input, output }, Some(shape)) => {
                if shape.len() != 1 {
                    errors.push(syn::Error::new(
                        input.1,
                        format!(
                            "`{name}` (Linear) needs a flat input [features] but `{prev_name}` produces {}\n  = note: {}\n  = help: flatten first; the flat size would be {} = {}",
                            fmt_shape(&shape),
                            trace.join(" → "),
                            shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" × "),
                            shape.iter().product::<usize>()
                        ),
                    ));
                } else if shape[0] != input.0 {
                    errors.push(syn::Error::new(
                        input.1,
                        format!(
                            "`{name}` expects {} input features but `{prev_name}` produces {}\n  = note: {}\n  = help: write `{name}: Linear<{}, {output}>`",
                            input.0, shape[0], trace.join(" → "), shape[0]
                        ),
                    ));
                }
                Some(vec![*output])
            }
            (_, shape) => shape,
        };
        trace.push(match &out {
            Some(s) => format!("{name} {}", fmt_shape(s)),
            None => format!("{name} [?]"),
        });
        shapes.push(out);
    }
    Flow { shapes }
}
