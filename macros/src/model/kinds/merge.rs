//! The merge kinds: `Add`, `Sub`, `Mul` (two values of one shape to one, elementwise:
//! `sum: Add(x, c2)`) and `Concat` (two values joined along their first per-sample axis, the
//! other sizes equal: `cat: Concat(a, b)`); called through `Merge`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Kind, KindDef, Out, Steps, private};
use crate::model::infer::{SEQ, Site, fmt_shape};

/// A merge kind named `$name`.
macro_rules! merge {
    ($def:ident, $name:literal) => {
        pub(crate) const $def: KindDef =
            KindDef { name: $name, params: &[], build: |_, _| Some(Box::new(Merge($name))) };
    };
}
merge!(ADD, "Add");
merge!(SUB, "Sub");
merge!(MUL, "Mul");
merge!(CONCAT, "Concat");

struct Merge(&'static str);

impl Kind for Merge {
    fn steps(&self) -> Steps {
        if self.0 == CONCAT.name { Steps::Sample } else { Steps::Each }
    }
    fn name(&self) -> &'static str {
        self.0
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        Some(Out::same(site, shape))
    }
    fn arity(&self) -> usize {
        2
    }
    fn infer2(&self, site: &mut Site<'_>, a: &[usize], b: &[usize]) -> Option<Out> {
        if self.0 == CONCAT.name {
            return concat(site, a, b);
        }
        if a != b {
            let name = site.name().clone();
            let (first, second) = site.prev().split_once(", ").unwrap_or((site.prev(), "?"));
            let help = projection(self.0, &name.to_string(), (first, a), (second, b));
            let msg = format!(
                "`{name}` ({}) needs two values of one shape but `{first}` is {} and `{second}` is {}{help}",
                self.0,
                fmt_shape(a),
                fmt_shape(b)
            );
            site.err(name.span(), msg);
            return None;
        }
        Some(Out::new(a.to_vec()))
    }
    fn ty(&self) -> TokenStream {
        let (p, kind) = (private(), format_ident!("{}", self.0));
        quote!(#p::layers::#kind)
    }
    fn describe(&self) -> String {
        self.0.to_string()
    }
}

/// The edit that makes a merge's two shapes equal, as a `help:` line: a projection of one value
/// to the other's shape, inserted before the merge (a `Linear` for feature vectors, a 1×1
/// `Conv2d` with the right stride for feature maps, as ResNet's shortcut), or nothing when no
/// single layer does it.
fn projection(
    kind: &str,
    merge: &str,
    (first, a): (&str, &[usize]),
    (second, b): (&str, &[usize]),
) -> String {
    let edit = |from: &str, layer: String, a_side: bool| {
        let proj = format!("{from}_proj");
        let args = if a_side { format!("{proj}, {second}") } else { format!("{first}, {proj}") };
        format!(
            "\n  = help: insert `{proj}: {layer}({from}),` before `{merge}` and write `{merge}: {kind}({args})`"
        )
    };
    match (a, b) {
        // Feature vectors, or sequences of them (a `Linear` runs per step).
        ([x], [y]) => edit(second, format!("Linear<{y}, {x}>"), false),
        ([s1, x], [s2, y]) if s1 == s2 && *s1 == SEQ => {
            edit(second, format!("Linear<{y}, {x}>"), false)
        }
        // Feature maps: a 1×1 convolution, strided when one map is a whole multiple of the other.
        ([c1, h1, w1], [c2, h2, w2]) => {
            if h1 == h2 && w1 == w2 {
                edit(second, format!("Conv2d<{c2}, {c1}, 1>"), false)
            } else if h2 % h1 == 0 && w2 % w1 == 0 && h2 / h1 == w2 / w1 {
                edit(second, format!("Conv2d<{c2}, {c1}, 1, stride = {}>", h2 / h1), false)
            } else if h1 % h2 == 0 && w1 % w2 == 0 && h1 / h2 == w1 / w2 {
                edit(first, format!("Conv2d<{c1}, {c2}, 1, stride = {}>", h1 / h2), true)
            } else {
                String::new()
            }
        }
        _ => String::new(),
    }
}

/// `Concat`'s rule: equal ranks and equal sizes after the first, which add up.
fn concat(site: &mut Site<'_>, a: &[usize], b: &[usize]) -> Option<Out> {
    if a.len() == b.len() && a.len() <= 3 && a[1..] == b[1..] {
        let mut out = a.to_vec();
        out[0] += b[0];
        return Some(Out::new(out));
    }
    let name = site.name().clone();
    let (first, second) = site.prev().split_once(", ").unwrap_or((site.prev(), "?"));
    let why = if a.len() > 3 || b.len() > 3 {
        "takes values of at most 3 per-sample axes".to_string()
    } else {
        "joins along the first axis, so the other sizes must agree".to_string()
    };
    let help = concat_padding_help(site, a, b);
    let msg = format!(
        "`{name}` (Concat) {why}, but `{first}` is {} and `{second}` is {}{help}",
        fmt_shape(a),
        fmt_shape(b)
    );
    site.err(name.span(), msg);
    None
}

/// For two images of one channel count apart whose planes differ: the padding that makes the
/// smaller one's stride-1 `Conv2d` or pool produce the larger plane (`wide: Conv2d<3, 8, 3,
/// padding = 1>`), when the difference is even and the same on both sides.
fn concat_padding_help(site: &Site<'_>, a: &[usize], b: &[usize]) -> String {
    let ([_, ah, aw], [_, bh, bw]) = (a, b) else { return String::new() };
    let (small, (grow_h, grow_w)) = if ah <= bh && aw <= bw {
        (0, (bh - ah, bw - aw))
    } else if bh <= ah && bw <= aw {
        (1, (ah - bh, aw - bw))
    } else {
        return String::new();
    };
    let Some(p) = site.producer(small) else { return String::new() };
    let kind = p.written.split('<').next().unwrap_or_default();
    let window = matches!(kind, "Conv2d" | "MaxPool2d" | "AvgPool2d");
    if !window || grow_h != grow_w || grow_h % 2 != 0 || p.int("stride") != Some(1) {
        return String::new();
    }
    let padding = p.int("padding").unwrap_or(0) + grow_h / 2;
    let written = match p.written.find("padding = ") {
        Some(at) => {
            let end = p.written[at..].find([',', '>']).map_or(p.written.len(), |e| at + e);
            format!("{}padding = {padding}{}", &p.written[..at], &p.written[end..])
        }
        None => match p.written.strip_suffix('>') {
            Some(head) => format!("{head}, padding = {padding}>"),
            None => return String::new(),
        },
    };
    format!(
        "\n  = help: write `{}: {written}`, so that it keeps the {} × {} plane",
        p.name,
        a[1].max(b[1]),
        a[2].max(b[2])
    )
}
