// Row kernels: softmax and log-softmax (stable) with their backward passes, and the
// classification-loss pieces. The softmax kernels give each row one warp (shapes::warp_rows):
// its lanes read the row in stride (coalesced) and reduce by shuffles, so rows of any length
// use the whole device. A row's warp exits together (`r` is the same for its 32 lanes), so
// every shuffle has all 32 lanes.

#define WARP 32

__device__ float warp_max(float v) {
    for (int o = WARP / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ float warp_sum(float v) {
    for (int o = WARP / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

extern "C" __global__ void softmax_rows(const float* x, float* y, size_t rows, size_t cols) {
    size_t r = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / WARP;
    unsigned int lane = threadIdx.x % WARP;
    if (r >= rows) return;
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = __int_as_float(0xff800000);
    for (size_t c = lane; c < cols; c += WARP) m = fmaxf(m, xr[c]);
    m = warp_max(m);
    float total = 0.0f;
    for (size_t c = lane; c < cols; c += WARP) { float e = expf(xr[c] - m); yr[c] = e; total += e; }
    float inv = 1.0f / warp_sum(total);
    for (size_t c = lane; c < cols; c += WARP) yr[c] *= inv;
}

extern "C" __global__ void log_softmax_rows(const float* x, float* y, size_t rows, size_t cols) {
    size_t r = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / WARP;
    unsigned int lane = threadIdx.x % WARP;
    if (r >= rows) return;
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = __int_as_float(0xff800000);
    for (size_t c = lane; c < cols; c += WARP) m = fmaxf(m, xr[c]);
    m = warp_max(m);
    float total = 0.0f;
    for (size_t c = lane; c < cols; c += WARP) total += expf(xr[c] - m);
    float lse = m + logf(warp_sum(total));
    for (size_t c = lane; c < cols; c += WARP) yr[c] = xr[c] - lse;
}

extern "C" __global__ void softmax_backward_rows(const float* y, const float* dy, float* dx, size_t rows, size_t cols) {
    size_t r = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / WARP;
    unsigned int lane = threadIdx.x % WARP;
    if (r >= rows) return;
    size_t o = r * cols;
    float dot = 0.0f;
    for (size_t c = lane; c < cols; c += WARP) dot += y[o + c] * dy[o + c];
    dot = warp_sum(dot);
    for (size_t c = lane; c < cols; c += WARP) dx[o + c] = y[o + c] * (dy[o + c] - dot);
}

extern "C" __global__ void log_softmax_backward_rows(const float* y, const float* dy, float* dx, size_t rows, size_t cols) {
    size_t r = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / WARP;
    unsigned int lane = threadIdx.x % WARP;
    if (r >= rows) return;
    size_t o = r * cols;
    float total = 0.0f;
    for (size_t c = lane; c < cols; c += WARP) total += dy[o + c];
    total = warp_sum(total);
    for (size_t c = lane; c < cols; c += WARP) dx[o + c] = dy[o + c] - expf(y[o + c]) * total;
}

// per_row[r] = -logp[r, labels[r]]
extern "C" __global__ void nll_sum(const float* logp, const int* labels, double* per_row, size_t rows, size_t cols) {
    size_t r = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (r >= rows) return;
    per_row[r] = -(double)logp[r * cols + labels[r]];
}

// dx = scale * (exp(logp) - onehot(labels))
extern "C" __global__ void softmax_minus_onehot(const float* logp, const int* labels, float* dx, size_t rows, size_t cols, float scale) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= rows * cols) return;
    size_t r = i / cols, c = i % cols;
    float v = expf(logp[i]);
    if ((size_t)labels[r] == c) v -= 1.0f;
    dx[i] = v * scale;
}

// dx = -scale * onehot(labels)
extern "C" __global__ void neg_onehot(const int* labels, float* dx, size_t rows, size_t cols, float scale) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= rows * cols) return;
    size_t r = i / cols, c = i % cols;
    dx[i] = (size_t)labels[r] == c ? -scale : 0.0f;
}

// per-element loss max(x,0) - x t + log1p(exp(-|x|)), grad = scale (sigmoid(x) - t)
extern "C" __global__ void bce_with_logits(const float* x, const float* t, float* grad, double* loss, float scale, size_t n) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n) return;
    double xv = x[i], tv = t[i];
    loss[i] = fmax(xv, 0.0) - xv * tv + log1p(exp(-fabs(xv)));
    double sig = xv >= 0.0 ? 1.0 / (1.0 + exp(-xv)) : exp(xv) / (1.0 + exp(xv));
    grad[i] = (float)(sig - tv) * scale;
}
