//! Generates the shape-rule impls of `src/ops/rules/` (one per rank, axis or permutation):
//! written out by hand they would be ~1,100 near-identical lines.

use std::fmt::Write as _;
use std::path::Path;

/// Sizes up to this are known not to be 1, so `[1] + [N]` broadcasts at compile time.
const NOT_ONE_MAX: usize = 4096;
const MAX_RANK: usize = 6;

fn dims(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn tuple(items: &[String]) -> String {
    if items.is_empty() { "()".into() } else { format!("({},)", items.join(", ")) }
}

/// `D0: Dim, D1: Dim, …`: the impl's parameters.
fn bounds(d: &[String]) -> String {
    d.iter().map(|x| format!("{x}: Dim")).collect::<Vec<_>>().join(", ")
}

/// The shape `d` with axis `ax` replaced by `v`.
fn replaced(d: &[String], ax: usize, v: &str) -> String {
    tuple(
        &d.iter()
            .enumerate()
            .map(|(i, x)| if i == ax { v.to_string() } else { x.clone() })
            .collect::<Vec<_>>(),
    )
}

/// An impl of `rule` (a permuting trait) for the shape `d`: output axis `i` is input axis `p[i]`.
fn permuted(s: &mut String, d: &[String], rule: &str, p: &[usize]) {
    let outs: Vec<String> = p.iter().map(|&i| d[i].clone()).collect();
    let consts: Vec<String> = p.iter().map(|i| i.to_string()).collect();
    writeln!(
        s,
        "#[diagnostic::do_not_recommend]\nimpl<{}> {rule} for {} {{ type Output = {}; const PERM: &'static [usize] = &[{}]; }}",
        bounds(d),
        tuple(d),
        tuple(&outs),
        consts.join(", ")
    )
    .unwrap();
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for pos in 0..=p.len() {
            let mut q = p.clone();
            q.insert(pos, n - 1);
            out.push(q);
        }
    }
    out.sort();
    out
}

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let out = Path::new(&out);
    println!("cargo::rerun-if-changed=build.rs");

    // NotOne: every Const size but 1, up to NOT_ONE_MAX.
    let mut s = String::from("impl NotOne for Const<0> {}\n");
    for n in 2..=NOT_ONE_MAX {
        writeln!(s, "impl NotOne for Const<{n}> {{}}").unwrap();
    }
    std::fs::write(out.join("not_one.rs"), s).unwrap();

    // BroadcastShape: every pair of ranks, aligned from the right.
    let mut s = String::new();
    for ra in 0..=MAX_RANK {
        for rb in 0..=MAX_RANK {
            let (a, b) = (dims("A", ra), dims("B", rb));
            let r = ra.max(rb);
            let mut params: Vec<String> = a.iter().chain(&b).map(|d| format!("{d}: Dim")).collect();
            let mut bounds = Vec::new();
            let mut outs = Vec::new();
            for i in 0..r {
                let ia = (i + ra).checked_sub(r);
                let ib = (i + rb).checked_sub(r);
                match (ia, ib) {
                    (Some(x), Some(y)) => {
                        bounds.push(format!("A{x}: BroadcastDim<B{y}>"));
                        outs.push(format!("<A{x} as BroadcastDim<B{y}>>::Output"));
                    }
                    (Some(x), None) => outs.push(format!("A{x}")),
                    (None, Some(y)) => outs.push(format!("B{y}")),
                    (None, None) => unreachable!(),
                }
            }
            if params.is_empty() {
                params.push(String::new());
            }
            let wh = if bounds.is_empty() {
                String::new()
            } else {
                format!(" where {}", bounds.join(", "))
            };
            writeln!(
                s,
                "#[diagnostic::do_not_recommend]\nimpl<{}> BroadcastShape<{}> for {}{wh} {{ type Output = {}; }}",
                params.join(", "),
                tuple(&b),
                tuple(&a),
                tuple(&outs)
            )
            .unwrap();
        }
    }
    std::fs::write(out.join("broadcast_shapes.rs"), s).unwrap();

    // Per rank and axis: Axis<AX> (the axis's dim, the shape without it, with it set to 1,
    // with it replaced), SqueezeAxis<AX> (the axis is Const<1> or Dyn) and CatAxis<AX, T> (T
    // equal to the shape but on AX).
    let mut s = String::new();
    for r in 1..=MAX_RANK {
        let d = dims("D", r);
        let params = bounds(&d);
        for ax in 0..r {
            let removed: Vec<String> =
                d.iter().enumerate().filter(|(i, _)| *i != ax).map(|(_, x)| x.clone()).collect();
            writeln!(
                s,
                "#[diagnostic::do_not_recommend]\nimpl<{params}> Axis<{ax}> for {} {{ type Dim = D{ax}; type Removed = {}; type Kept = {}; type Replaced<N: Dim> = {}; }}",
                tuple(&d),
                tuple(&removed),
                replaced(&d, ax, "Const<1>"),
                replaced(&d, ax, "N")
            )
            .unwrap();
            let others = bounds(&removed);
            for one in ["Const<1>", "Dyn"] {
                writeln!(
                    s,
                    "#[diagnostic::do_not_recommend]\nimpl<{others}> SqueezeAxis<{ax}> for {} {{ type Squeezed = {}; }}",
                    replaced(&d, ax, one),
                    tuple(&removed)
                )
                .unwrap();
            }
            let sep = if others.is_empty() { "" } else { ", " };
            writeln!(
                s,
                "#[diagnostic::do_not_recommend]\nimpl<{others}{sep}X: Dim, Y: Dim> CatAxis<{ax}, {}> for {} {{ type Joined<N: Dim> = {}; }}",
                replaced(&d, ax, "Y"),
                replaced(&d, ax, "X"),
                replaced(&d, ax, "N")
            )
            .unwrap();
        }
    }
    // InsertAxis<AX>: a new axis before position AX (AX = rank appends).
    for r in 0..MAX_RANK {
        let d = dims("D", r);
        let params = bounds(&d);
        for ax in 0..=r {
            let mut ins = d.clone();
            ins.insert(ax, "N".into());
            writeln!(
                s,
                "#[diagnostic::do_not_recommend]\nimpl<{params}> InsertAxis<{ax}> for {} {{ type Inserted<N: Dim> = {}; }}",
                tuple(&d),
                tuple(&ins)
            )
            .unwrap();
        }
    }
    std::fs::write(out.join("axis_impls.rs"), s).unwrap();

    // Permutations (ranks 2..=6) and axis swaps (transpose).
    let mut s = String::new();
    for r in 2..=MAX_RANK {
        let d = dims("D", r);
        for p in permutations(r) {
            let consts: Vec<String> = p.iter().map(|i| i.to_string()).collect();
            permuted(&mut s, &d, &format!("PermuteAxes<Axes{r}<{}>>", consts.join(", ")), &p);
        }
        for a in 0..r {
            for b in 0..r {
                let mut p: Vec<usize> = (0..r).collect();
                p.swap(a, b);
                permuted(&mut s, &d, &format!("SwapAxes<{a}, {b}>"), &p);
            }
        }
    }
    std::fs::write(out.join("permute_impls.rs"), s).unwrap();
}
