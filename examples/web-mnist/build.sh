#!/usr/bin/env bash
# Builds web-mnist for the browser into examples/web-mnist/www/: web_mnist.wasm (scalar) and
# web_mnist_simd.wasm (WebAssembly SIMD, simd128), with Debian's rustc-web (see
# ../shared/WASM-NOTES.md: rustup cannot fetch the wasm32 std here), and copies the checkpoint
# that `cargo run --release -p mnist-cnn` writes beside them when it exists.
#
#   examples/web-mnist/build.sh [--simd-only]
#   python3 -m http.server 8000 --bind 127.0.0.1 --directory examples/web-mnist/www
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in /usr/bin/cargo /usr/bin/rustc wasm-ld-22; do
  command -v "$tool" >/dev/null || {
    echo "missing $tool: apt-get install rustc-web cargo-web rust-web-src lld-22" >&2
    exit 1
  }
done
[ -d /usr/lib/rustlib/src/rust/library ] || {
  echo "missing the std sources: apt-get install rust-web-src" >&2
  exit 1
}
export PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22
www=examples/web-mnist/www
# std without its default features: the backtrace crates (object, gimli, addr2line) do nothing
# on wasm32-unknown-unknown and were a fifth of this build's compile time.
build() { # target dir, extra rustflags, output name
  RUSTFLAGS="$2" CARGO_TARGET_DIR="$1" /usr/bin/cargo build --quiet --release -p web-mnist \
    --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort -Zbuild-std-features=
  cp "$1/wasm32-unknown-unknown/release/web_mnist.wasm" "$www/$3"
}
build target/wasm-simd "-C target-feature=+simd128" web_mnist_simd.wasm
if [ "${1:-}" != "--simd-only" ]; then
  build target/wasm "" web_mnist.wasm
fi
if [ -e runs/mnist-cnn/model.safetensors ]; then
  cp runs/mnist-cnn/model.safetensors "$www/"
else
  echo "no runs/mnist-cnn/model.safetensors: train it with cargo run --release -p mnist-cnn" >&2
fi
ls -l "$www"/*.wasm
