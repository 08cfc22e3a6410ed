// The elementwise family (src/elementwise.rs): fill, activations (relu, leaky_relu, sigmoid,
// tanh, gelu) and their derivatives, mul, sub, axpy, scale, clamp, row broadcasts, dropout
// masks (one thread per element, grid-stride loops), and sum / sum_squares (per-block partial
// sums in double precision; the host adds the partials).
#ifndef SHAPEFLOW_BLOCK
#error "compile with -DSHAPEFLOW_BLOCK=<threads per block>: the launches' block size, which sizes the shared-memory reductions"
#endif

#ifndef GRID_STRIDE
#define GRID_STRIDE(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)blockDim.x * gridDim.x)
#endif

// Activation kinds, as `act_code` in src/launch.rs.
#define ACT_RELU 0
#define ACT_LEAKY 1
#define ACT_SIGMOID 2
#define ACT_TANH 3
#define ACT_GELU 4
#define ACT_GELU_TANH 5

extern "C" __global__ void fill(float* x, float v, size_t n) {
    GRID_STRIDE(i, n) { x[i] = v; }
}

__device__ float sigmoidf(float x) {
    if (x >= 0.0f) { return 1.0f / (1.0f + expf(-x)); }
    float e = expf(x);
    return e / (1.0f + e);
}

extern "C" __global__ void activation(const float* x, float* y, int kind, float slope, size_t n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        float r;
        switch (kind) {
            // NaN passes through (v != v), as in PyTorch.
            case ACT_RELU: r = (v > 0.0f || v != v) ? v : 0.0f; break;
            case ACT_LEAKY: r = v > 0.0f ? v : slope * v; break;
            case ACT_SIGMOID: r = sigmoidf(v); break;
            case ACT_TANH: r = tanhf(v); break;
            case ACT_GELU_TANH: r = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v))); break;
            default: r = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); break;
        }
        y[i] = r;
    }
}

// `saved` is the output for relu, sigmoid and tanh, the input for leaky_relu and gelu.
extern "C" __global__ void activation_backward(const float* saved, const float* dy, float* dx, int kind, float slope, size_t n) {
    GRID_STRIDE(i, n) {
        float s = saved[i];
        float g = dy[i];
        float r;
        switch (kind) {
            case ACT_RELU: r = s > 0.0f ? g : 0.0f; break;
            case ACT_LEAKY: r = s > 0.0f ? g : slope * g; break;
            case ACT_SIGMOID: r = g * s * (1.0f - s); break;
            case ACT_TANH: r = g * (1.0f - s * s); break;
            case ACT_GELU_TANH: {
                float t = tanhf(0.7978845608028654f * (s + 0.044715f * s * s * s));
                r = g * (0.5f * (1.0f + t) + 0.5f * s * (1.0f - t * t) * 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * s * s));
                break;
            }
            default: {
                float cdf = 0.5f * (1.0f + erff(s * 0.70710678118654752f));
                float pdf = 0.39894228040143268f * expf(-0.5f * s * s);
                r = g * (cdf + s * pdf);
            }
        }
        dx[i] = r;
    }
}

extern "C" __global__ void mul(const float* a, const float* b, float* out, size_t n) {
    GRID_STRIDE(i, n) { out[i] = a[i] * b[i]; }
}

extern "C" __global__ void sub(const float* a, const float* b, float* out, size_t n) {
    GRID_STRIDE(i, n) { out[i] = a[i] - b[i]; }
}

extern "C" __global__ void axpy(float alpha, const float* x, float* y, size_t n) {
    GRID_STRIDE(i, n) { y[i] += alpha * x[i]; }
}

extern "C" __global__ void scale(float* x, float alpha, size_t n) {
    GRID_STRIDE(i, n) { x[i] *= alpha; }
}

extern "C" __global__ void clamp(float* x, float lo, float hi, size_t n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        x[i] = v < lo ? lo : (v > hi ? hi : v);
    }
}

// y[r, i] = x[r, i] * m[r]
extern "C" __global__ void mul_rows_broadcast(const float* x, const float* m, float* y, size_t rows, size_t inner) {
    GRID_STRIDE(i, rows * inner) { y[i] = x[i] * m[i / inner]; }
}

// SplitMix64, as shapeflow_core::rng::mix64: the same seed gives the same mask as on the CPU.
__device__ unsigned long long mix64(unsigned long long z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

extern "C" __global__ void dropout_mask(float* mask, double p, unsigned long long seed, size_t n) {
    float keep = (float)(1.0 / (1.0 - p));
    GRID_STRIDE(i, n) {
        unsigned long long bits = mix64(seed ^ mix64((unsigned long long)i));
        double u = (double)(bits >> 11) * (1.0 / 9007199254740992.0);
        mask[i] = u < p ? 0.0f : keep;
    }
}

__device__ void partial_sums(const float* x, double* partial, size_t n, int squares) {
    __shared__ double part[SHAPEFLOW_BLOCK];
    double s = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)blockDim.x * gridDim.x) {
        double v = x[i];
        s += squares ? v * v : v;
    }
    part[threadIdx.x] = s;
    __syncthreads();
    for (unsigned int w = blockDim.x / 2; w > 0; w >>= 1) {
        if (threadIdx.x < w) { part[threadIdx.x] += part[threadIdx.x + w]; }
        __syncthreads();
    }
    if (threadIdx.x == 0) { partial[blockIdx.x] = part[0]; }
}

extern "C" __global__ void sum(const float* x, double* partial, size_t n) { partial_sums(x, partial, n, 0); }

extern "C" __global__ void sum_squares(const float* x, double* partial, size_t n) { partial_sums(x, partial, n, 1); }
