// Compiles the CUDA kernels as C++ for a sequential check of their index arithmetic on the CPU:
// every "block" has one thread, so grid-stride loops cover everything in one thread, per-row
// kernels run once per block index, and shared-memory reductions degenerate to plain sums.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstring>

struct Dim3 { unsigned int x; };
extern Dim3 blockIdx, threadIdx, blockDim, gridDim;

#define __global__
#define __device__ static inline
#define __shared__ static
#define __syncthreads() ((void)0)

static inline float __int_as_float(unsigned int v) { float f; std::memcpy(&f, &v, 4); return f; }
static inline float atomicAdd(float* p, float v) { float old = *p; *p += v; return old; }
using std::isnan;
