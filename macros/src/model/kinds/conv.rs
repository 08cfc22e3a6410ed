//! `Conv1d` and `Conv2d<in_channels, out_channels, kernel_size, stride = 1, padding = 0,
//! dilation = 1, bias = true>`: `[c, l] → [out, l']` and `[c, h, w] → [out, h', w']`, PyTorch's window rule.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

use super::{Attr, Build, Kind, KindDef, Out, private, size_type};
use crate::model::args::{ParamSpec, count_or, flag, size, size_or};
use crate::model::infer::{Site, fmt_shape, product};

const PARAMS: &[ParamSpec] = &[
    size("in_channels"),
    size("out_channels"),
    size("kernel_size"),
    size_or("stride", 1.0),
    count_or("padding", 0.0),
    size_or("dilation", 1.0),
    flag("bias", true),
];

pub(crate) const CONV2D: KindDef =
    KindDef { name: "Conv2d", params: PARAMS, build: |b, _| Some(build(b, true)) };
pub(crate) const CONV1D: KindDef =
    KindDef { name: "Conv1d", params: PARAMS, build: |b, _| Some(build(b, false)) };

fn build(b: &Build<'_>, two_d: bool) -> Box<dyn Kind> {
    let a = &b.args;
    Box::new(Conv {
        two_d,
        input: a.spanned(0),
        output: a.size(1),
        kernel: a.spanned(2),
        stride: a.size(3),
        padding: a.size(4),
        dilation: a.size(5),
        bias: a.flag(6),
    })
}

struct Conv {
    two_d: bool,
    input: (usize, Span),
    output: usize,
    kernel: (usize, Span),
    stride: usize,
    padding: usize,
    dilation: usize,
    bias: bool,
}

impl Conv {
    /// The layer as declared, with kernel size `kernel`.
    fn written_with_kernel(&self, kernel: usize) -> String {
        let mut s = format!("{}<{}, {}, {kernel}", self.name(), self.input.0, self.output);
        for (name, v, d) in [
            ("stride", self.stride, 1),
            ("padding", self.padding, 0),
            ("dilation", self.dilation, 1),
        ] {
            if v != d {
                s.push_str(&format!(", {name} = {v}"));
            }
        }
        if !self.bias {
            s.push_str(", bias = false");
        }
        s + ">"
    }
    /// For a flat model input whose size is channels × a square (784 = 1 × 28 × 28) given to a
    /// `Conv2d`: the image input to declare. Nothing otherwise.
    fn image_input_help(&self, site: &Site<'_>, shape: &[usize]) -> String {
        let (c, [n]) = (self.input.0, shape) else { return String::new() };
        if !self.two_d || site.producer(0).is_some() || c == 0 || n % c != 0 {
            return String::new();
        }
        let side = ((n / c) as f64).sqrt().round() as usize;
        if side * side * c != *n {
            return String::new();
        }
        format!("\n  = help: declare the image: `input: [{c}, {side}, {side}]`")
    }
}

impl Kind for Conv {
    fn name(&self) -> &'static str {
        if self.two_d { CONV2D.name } else { CONV1D.name }
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        let (name, prev) = (site.name().clone(), site.prev().to_string());
        let kind = self.name();
        let (rank, layout) =
            if self.two_d { (3, "[channels, height, width]") } else { (2, "[channels, length]") };
        if shape.len() != rank {
            let msg = format!(
                "`{name}` ({kind}) needs an input {layout} but `{prev}` produces {}{}",
                fmt_shape(shape),
                self.image_input_help(site, shape)
            );
            site.err(self.input.1, msg);
            return None;
        }
        if shape[0] != self.input.0 {
            // The layer as written, with the channels it is given.
            let written = self.describe();
            let tail = written.find(',').map_or(">", |at| &written[at..]);
            site.err(
                self.input.1,
                format!(
                    "`{name}` expects {} input channels but `{prev}` produces {}\n  = help: write `{name}: {kind}<{}{tail}`",
                    self.input.0, shape[0], shape[0]
                ),
            );
        }
        let (k, s, p, d) = (self.kernel.0, self.stride, self.padding, self.dilation);
        let spatial = &shape[1..];
        let outs: Option<Vec<usize>> =
            spatial.iter().map(|&n| shapeflow_rules::window_out(n, k, s, p, d)).collect();
        let Some(outs) = outs else {
            let what =
                if self.two_d { format!("{k}×{k} kernel") } else { format!("kernel of {k}") };
            let spans = if d > 1 {
                format!(" with dilation {d} spans {} and", shapeflow_rules::kernel_reach(k, d))
            } else {
                String::new()
            };
            let padded: Vec<String> = spatial.iter().map(|n| (n + 2 * p).to_string()).collect();
            // The largest kernel that fits the smallest side with this padding (undilated).
            let fits = spatial.iter().map(|n| n + 2 * p).min().unwrap_or(0);
            let help = if d == 1 && fits >= 1 {
                format!(
                    "\n  = help: write `{name}: {}`, or pool less before it",
                    self.written_with_kernel(fits)
                )
            } else {
                String::new()
            };
            site.err(
                self.kernel.1,
                format!(
                    "`{name}`: the {what}{spans} is larger than its padded input {} (`{prev}` produces {}; padding {p}){help}",
                    padded.join(" × "),
                    product(spatial)
                ),
            );
            return None;
        };
        Some(Out::new(std::iter::once(self.output).chain(outs).collect()))
    }
    fn ty(&self) -> TokenStream {
        let p = private();
        let kind = format_ident!("{}", self.name());
        let [i, o, k, s, pd, d] =
            [self.input.0, self.output, self.kernel.0, self.stride, self.padding, self.dilation]
                .map(size_type);
        quote!(#p::layers::#kind<#i, #o, #k, B, #s, #pd, #d>)
    }
    fn describe(&self) -> String {
        self.written_with_kernel(self.kernel.0)
    }
    fn init(&self, ty: &TokenStream) -> TokenStream {
        let p = private();
        let init = quote!(<#ty as #p::Init<B>>::init(dev, &mut rng));
        if self.bias { init } else { quote!(#init.without_bias()) }
    }
    fn sized(&self) -> bool {
        true
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        vec![
            ("in_channels", Attr::Int(self.input.0)),
            ("out_channels", Attr::Int(self.output)),
            ("kernel_size", Attr::Int(self.kernel.0)),
            ("stride", Attr::Int(self.stride)),
            ("padding", Attr::Int(self.padding)),
            ("dilation", Attr::Int(self.dilation)),
            ("bias", Attr::Flag(self.bias)),
        ]
    }
}
