//! The runtime under the layers: cuBLAS from a thread that never touched the device, an
//! allocation that only fits once the cache is released, a failed allocation reported and
//! then recovered from, and products with an empty inner size.

use shapeflow::Cuda;
use shapeflow::backend::{Gemm, Linalg};
use shapeflow::prelude::*;

use super::on_gpu::{close, gpu};

fn product(dev: &Cuda, m: usize, k: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
    let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0).collect();
    let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0).collect();
    let want: Vec<f32> =
        (0..m * n).map(|q| (0..k).map(|p| a[(q / n) * k + p] * b[p * n + q % n]).sum()).collect();
    let (ad, bd) = (dev.upload(&a), dev.upload(&b));
    let mut c = dev.zeros(m * n);
    let g = Gemm { m, k, n, trans_a: false, trans_b: false, beta: 0.0 };
    <Cuda as Linalg>::matmul(&ad, &bd, &mut c, g);
    (<Cuda as Device>::to_host(&c), want)
}

#[test]
fn cublas_runs_from_a_fresh_thread() {
    let Some(dev) = gpu() else { return };
    let d = dev.clone();
    let (got, want) = std::thread::spawn(move || product(&d, 65, 33, 47)).join().unwrap();
    close("product on a second thread", &got, &want);
    dev.check().unwrap();
}

#[test]
fn an_empty_inner_size_gives_zeros() {
    let Some(dev) = gpu() else { return };
    // Scratch from the cache first, so the output's old contents are not zeros.
    drop(product(&dev, 9, 5, 9));
    let (got, want) = product(&dev, 9, 0, 9);
    assert_eq!(got, want);
    dev.check().unwrap();
}

#[test]
fn an_allocation_that_fits_once_the_cache_is_released_succeeds() {
    let Some(dev) = gpu() else { return };
    let (free, _) = dev.memory_info().unwrap();
    let floats = free / 4 * 6 / 10;
    drop(dev.zeros(floats)); // 60 % of free memory, now held by the cache
    assert!(dev.cached_bytes() >= floats * 4);
    let b = dev.zeros(floats + 1); // another length: cudaMalloc fails until the cache is freed
    dev.check().expect("the cache was released and the allocation retried");
    assert_eq!(dev.cached_bytes(), 0);
    drop(b);
    dev.empty_cache();
}

#[test]
fn a_failed_allocation_is_reported_and_the_device_recovers() {
    let Some(dev) = gpu() else { return };
    let (_, total) = dev.memory_info().unwrap();
    drop(dev.zeros(total / 4 * 2)); // twice the device's memory
    let err = dev.check().unwrap_err().to_string();
    assert!(err.contains("cudaMalloc") && err.contains("after releasing"), "{err}");
    let (got, want) = product(&dev, 4, 3, 5);
    close("a product after the failure", &got, &want);
    dev.check().unwrap();
}
