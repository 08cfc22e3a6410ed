// Compiles the CUDA kernels as C++ for a check on the CPU with real parallelism: the test
// generates, for every `extern "C" __global__` kernel, a C entry point that runs one block's
// `blockDim.x` threads as real threads (kernels.cpp). `__syncthreads()` is a real barrier
// over the block's threads that have not exited (as on sm_70 and later), `atomicAdd` a real
// atomic, `__shared__` arrays are shared by the block's threads (blocks run one after
// another); a warp shuffle exchanges values through a barrier. Defining SHAPEFLOW_EMU_NO_SYNC removes the barriers and SHAPEFLOW_EMU_PLAIN_ATOMIC
// makes atomicAdd a plain read-modify-write: the test checks that either breaks results.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstring>
#include <functional>
#include <thread>

struct Dim3 { unsigned int x; };
extern thread_local Dim3 threadIdx;
extern Dim3 blockIdx, blockDim, gridDim;

void emu_syncthreads();
float emu_shfl_xor(float v, int lane_mask);
void emu_threads(const std::function<void()>& body);

#define __global__
#define __device__ static inline
#define __shared__ static
#ifdef SHAPEFLOW_EMU_NO_SYNC
#define __syncthreads() ((void)0)
#else
#define __syncthreads() emu_syncthreads()
#endif

// A warp shuffle as two block barriers around a shared slot per thread: right for kernels
// whose live threads all shuffle the same number of times (the row kernels: whole warps exit
// together and each reduction shuffles five times).
#define __shfl_xor_sync(mask, v, lane_mask) emu_shfl_xor((v), (lane_mask))

static inline float __int_as_float(unsigned int v) { float f; std::memcpy(&f, &v, 4); return f; }

static inline float atomicAdd(float* p, float v) {
#ifdef SHAPEFLOW_EMU_PLAIN_ATOMIC
    float old = *p;
    std::this_thread::yield();  // widens the window a real non-atomic update races in
    *p = old + v;
    return old;
#else
    unsigned int* bits = reinterpret_cast<unsigned int*>(p);
    unsigned int seen = __atomic_load_n(bits, __ATOMIC_RELAXED);
    for (;;) {
        float old;
        std::memcpy(&old, &seen, 4);
        float sum = old + v;
        unsigned int next;
        std::memcpy(&next, &sum, 4);
        if (__atomic_compare_exchange_n(bits, &seen, next, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return old;
    }
#endif
}

using std::isnan;
