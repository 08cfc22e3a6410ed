#!/usr/bin/env bash
# Compile-time figures for the shape-errors issue, reproducibly:
#  1. `cargo check` of examples/mnist-cnn after an edit (incremental; an appended item, not a
#     `touch` or a comment, which rustc's incremental cache skips);
#  2. `cargo check` of a crate holding one generated model with 20 conv/linear layers, after an
#     edit, and its first check;
#  3. the cold release build of examples/mnist-cnn (fresh target directory, all dependencies).
# Usage: scripts/compile-times.sh [--skip-cold]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
# Appends an item (an edit rustc must re-check; the macros expand again).
edit() { echo "#[allow(dead_code)] const EDIT_${RANDOM}_$RANDOM: u32 = 0;" >> "$1"; }
cnn=examples/mnist-cnn/src/main.rs
cp "$cnn" "$root/target/main.rs.orig"
trap 'cp "$root/target/main.rs.orig" "$root/$cnn"' EXIT

cargo check -q -p mnist-cnn
for _ in 1 2 3 4 5; do edit "$cnn"; timed cargo check -q -p mnist-cnn; done \
  | median | xargs printf 'mnist-cnn: cargo check after an edit: %.2f s (median of 5)\n'
for _ in 1 2 3; do edit "$cnn"; CARGO_INCREMENTAL=0 timed cargo check -q -p mnist-cnn; done \
  | median | xargs printf 'mnist-cnn: the same without incremental compilation: %.2f s (median of 3)\n'
cp "$root/target/main.rs.orig" "$cnn"

deep="$root/target/compile-times/deep-model"
mkdir -p "$deep/src"
cat > "$deep/Cargo.toml" <<TOML
[package]
name = "deep-model"
version = "0.1.0"
edition = "2024"
[dependencies]
shapeflow = { path = "$root" }
[workspace]
TOML
{
  echo 'use shapeflow::prelude::*;'
  echo 'model! {'
  echo '    pub struct Deep {'
  echo '        input: [3, 64, 64],'
  c=3
  for i in $(seq 1 12); do
    echo "        conv$i: Conv2d<$c, 16, 3, padding = 1>,"
    echo "        act$i: Relu,"
    c=16
  done
  echo '        pool: MaxPool2d<8>,'
  echo '        flat: Flatten,'
  echo '        fc1: Linear<1024, 256>,'
  for i in $(seq 2 8); do echo "        fc$i: Linear<256, 256>,"; echo "        fa$i: Relu,"; done
  echo '    }'
  echo '}'
  echo 'fn main() { let m = Deep::<Cpu>::new(&Cpu::default(), 0); println!("{}", m.summary()); }'
} > "$deep/src/main.rs"
export CARGO_TARGET_DIR="$root/target/compile-times/target"
timed cargo check -q --manifest-path "$deep/Cargo.toml" >/dev/null
for _ in 1 2 3 4 5; do edit "$deep/src/main.rs"; timed cargo check -q --manifest-path "$deep/Cargo.toml"; done \
  | median | xargs printf '20-layer model (12 conv + 8 linear): cargo check after an edit: %.2f s (median of 5)\n'
for _ in 1 2 3; do edit "$deep/src/main.rs"; CARGO_INCREMENTAL=0 timed cargo check -q --manifest-path "$deep/Cargo.toml"; done \
  | median | xargs printf '20-layer model: the same without incremental compilation: %.2f s (median of 3)\n'
unset CARGO_TARGET_DIR

if [[ "${1:-}" != "--skip-cold" ]]; then
  cold="$root/target/compile-times/cold"
  rm -rf "$cold"
  t=$(CARGO_TARGET_DIR="$cold" timed cargo build --release -q -p mnist-cnn)
  printf 'mnist-cnn: cold release build (all dependencies, %s cores): %.1f s\n' "$(nproc)" "$t"
fi
