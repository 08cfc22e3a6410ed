// The normalisation family (src/norm.rs). Batch normalisation over [outer, channels, inner]:
// moments per channel (each channel in chunks over several blocks, combined by a second launch;
// double accumulation), the affine apply, and the training-mode backward. Layer normalisation over the rows of [rows, cols]: one block per row
// for the statistics and the input gradient, one thread per column for the affine gradients.
#ifndef SHAPEFLOW_BLOCK
#error "compile with -DSHAPEFLOW_BLOCK=<threads per block>: the launches' block size, which sizes the shared-memory reductions"
#endif

__device__ double block_sum(double v, double* part) {
    part[threadIdx.x] = v;
    __syncthreads();
    for (unsigned int w = blockDim.x / 2; w > 0; w >>= 1) {
        if (threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    double total = part[0];
    __syncthreads();
    return total;
}

// Per-channel reductions use the whole device: each channel's outer × inner values are cut
// into `splits` chunks, one block each (block b reduces chunk b % splits of channel
// b / splits), and a second launch with one thread per channel combines the chunks.

// The values of channel `c`, chunk `s`: positions [lo, hi) of its outer × inner values.
__device__ void chunk_of(size_t m, size_t splits, size_t s, size_t* lo, size_t* hi) {
    size_t per = (m + splits - 1) / splits;
    *lo = s * per < m ? s * per : m;
    *hi = *lo + per < m ? *lo + per : m;
}

__device__ size_t channel_at(size_t k, size_t c, size_t channels, size_t inner) {
    return ((k / inner) * channels + c) * inner + k % inner;
}

// part[b] = (count, mean, M2) of the block's chunk, computed in two passes (exact and stable).
extern "C" __global__ void channel_moments_partial(const float* x, double* part, size_t outer, size_t channels, size_t inner, size_t splits) {
    __shared__ double sh[SHAPEFLOW_BLOCK];
    size_t b = blockIdx.x, c = b / splits, m = outer * inner, lo, hi;
    if (c >= channels) return;
    chunk_of(m, splits, b % splits, &lo, &hi);
    double s = 0.0;
    for (size_t k = lo + threadIdx.x; k < hi; k += blockDim.x) s += x[channel_at(k, c, channels, inner)];
    double n = (double)(hi - lo);
    double total = block_sum(s, sh);
    double mu = n > 0.0 ? total / n : 0.0;
    double q = 0.0;
    for (size_t k = lo + threadIdx.x; k < hi; k += blockDim.x) {
        double d = x[channel_at(k, c, channels, inner)] - mu;
        q += d * d;
    }
    q = block_sum(q, sh);
    if (threadIdx.x == 0) { part[3 * b] = n; part[3 * b + 1] = mu; part[3 * b + 2] = q; }
}

// Chan et al.'s pairwise combination of the chunks' (count, mean, M2): the channel's mean and
// biased variance.
extern "C" __global__ void channel_moments_finish(const double* part, float* mean, float* var, size_t channels, size_t splits) {
    for (size_t c = blockIdx.x * (size_t)blockDim.x + threadIdx.x; c < channels; c += (size_t)blockDim.x * gridDim.x) {
        double n = 0.0, mu = 0.0, m2 = 0.0;
        for (size_t s = 0; s < splits; ++s) {
            const double* p = part + 3 * (c * splits + s);
            if (p[0] == 0.0) continue;
            double total = n + p[0], d = p[1] - mu;
            mu += d * p[0] / total;
            m2 += p[2] + d * d * n * p[0] / total;
            n = total;
        }
        mean[c] = (float)mu;
        var[c] = n > 0.0 ? (float)(m2 / n) : 0.0f;
    }
}

// part[b] = (sum dy, sum dy · xhat) over the block's chunk; with `x_only`, (sum x, 0) (the
// per-channel sums of sum_channels; `dy`, `mean` and `var` are then not read).
extern "C" __global__ void channel_sums_partial(const float* x, const float* dy, const float* mean, const float* var, double* part, double eps, size_t outer, size_t channels, size_t inner, size_t splits, int x_only) {
    __shared__ double sh[SHAPEFLOW_BLOCK];
    size_t b = blockIdx.x, c = b / splits, m = outer * inner, lo, hi;
    if (c >= channels) return;
    chunk_of(m, splits, b % splits, &lo, &hi);
    double mu = x_only ? 0.0 : (double)mean[c];
    double invstd = x_only ? 0.0 : 1.0 / sqrt((double)var[c] + eps);
    double s1 = 0.0, s2 = 0.0;
    for (size_t k = lo + threadIdx.x; k < hi; k += blockDim.x) {
        size_t at = channel_at(k, c, channels, inner);
        if (x_only) {
            s1 += x[at];
        } else {
            double g = dy[at];
            s1 += g;
            s2 += g * (x[at] - mu) * invstd;
        }
    }
    s1 = block_sum(s1, sh);
    s2 = block_sum(s2, sh);
    if (threadIdx.x == 0) { part[2 * b] = s1; part[2 * b + 1] = s2; }
}

// The chunks' sums per channel: first[c] = sum of the first sums and, with `has_second`,
// second[c] of the second (dbeta and dgamma; sum_channels has no second); the totals also stay
// in double at part[2 · channels · splits + 2c ..] for batch_norm_backward_apply.
extern "C" __global__ void channel_sums_finish(double* part, float* first, float* second, size_t channels, size_t splits, int has_second) {
    for (size_t c = blockIdx.x * (size_t)blockDim.x + threadIdx.x; c < channels; c += (size_t)blockDim.x * gridDim.x) {
        double s1 = 0.0, s2 = 0.0;
        for (size_t s = 0; s < splits; ++s) {
            s1 += part[2 * (c * splits + s)];
            s2 += part[2 * (c * splits + s) + 1];
        }
        double* totals = part + 2 * channels * splits;
        totals[2 * c] = s1;
        totals[2 * c + 1] = s2;
        first[c] = (float)s1;
        if (has_second) second[c] = (float)s2;
    }
}

extern "C" __global__ void batch_norm_apply(const float* x, const float* mean, const float* var, const float* gamma, const float* beta, float* y, double eps, size_t outer, size_t channels, size_t inner) {
    size_t total = outer * channels * inner;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t c = (k / inner) % channels;
        float invstd = (float)(1.0 / sqrt((double)var[c] + eps));
        float sc = invstd * gamma[c];
        y[k] = x[k] * sc + (beta[c] - mean[c] * sc);
    }
}

// dx from the per-channel totals (sum dy, sum dy · xhat) of channel_sums_finish, one thread
// per element.
extern "C" __global__ void batch_norm_backward_apply(const float* x, const float* dy, const float* mean, const float* var, const float* gamma, const double* totals, float* dx, double eps, size_t outer, size_t channels, size_t inner) {
    size_t total = outer * channels * inner;
    double m = (double)(outer * inner);
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t c = (k / inner) % channels;
        double mu = mean[c], invstd = 1.0 / sqrt((double)var[c] + eps);
        double sdy = totals[2 * c], sdyx = totals[2 * c + 1];
        double xhat = (x[k] - mu) * invstd;
        dx[k] = (float)(gamma[c] * invstd / m * (m * dy[k] - sdy - xhat * sdyx));
    }
}

// y = (x - mean) * rstd * gamma + beta per row, rstd = 1/sqrt(var + eps) (without `affine`: no
// gamma, beta); writes each row's mean and biased variance.
extern "C" __global__ void layer_norm(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* var, size_t rows, size_t cols, double eps, int affine) {
    __shared__ double part[SHAPEFLOW_BLOCK];
    for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + r * cols;
        double s = 0.0;
        for (size_t c = threadIdx.x; c < cols; c += blockDim.x) s += xr[c];
        double mu = block_sum(s, part) / (double)cols;
        double q = 0.0;
        for (size_t c = threadIdx.x; c < cols; c += blockDim.x) { double d = xr[c] - mu; q += d * d; }
        double v = block_sum(q, part) / (double)cols;
        double rs = 1.0 / sqrt(v + eps);
        for (size_t c = threadIdx.x; c < cols; c += blockDim.x) {
            double xhat = (xr[c] - mu) * rs;
            y[r * cols + c] = affine ? (float)(xhat * gamma[c] + beta[c]) : (float)xhat;
        }
        if (threadIdx.x == 0) { mean[r] = (float)mu; var[r] = (float)v; }
    }
}

// dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma; a block per row.
extern "C" __global__ void layer_norm_backward(const float* x, const float* dy, const float* mean, const float* var, const float* gamma, float* dx, size_t rows, size_t cols, double eps, int affine) {
    __shared__ double part[SHAPEFLOW_BLOCK];
    for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        double mu = mean[r], rs = 1.0 / sqrt((double)var[r] + eps);
        double sd = 0.0, sdx = 0.0;
        for (size_t c = threadIdx.x; c < cols; c += blockDim.x) {
            double d = (double)dy[r * cols + c] * (affine ? gamma[c] : 1.0f);
            sd += d;
            sdx += d * (x[r * cols + c] - mu) * rs;
        }
        double md = block_sum(sd, part) / (double)cols;
        double mdx = block_sum(sdx, part) / (double)cols;
        for (size_t c = threadIdx.x; c < cols; c += blockDim.x) {
            double xhat = (x[r * cols + c] - mu) * rs;
            double d = (double)dy[r * cols + c] * (affine ? gamma[c] : 1.0f);
            dx[r * cols + c] = (float)(rs * (d - md - xhat * mdx));
        }
    }
}

// dgamma[c] = sum_r dy * xhat, dbeta[c] = sum_r dy; one thread per column.
extern "C" __global__ void layer_norm_param_grads(const float* x, const float* dy, const float* mean, const float* var, float* dgamma, float* dbeta, size_t rows, size_t cols, double eps) {
    for (size_t c = blockIdx.x * (size_t)blockDim.x + threadIdx.x; c < cols; c += (size_t)blockDim.x * gridDim.x) {
        double sg = 0.0, sb = 0.0;
        for (size_t r = 0; r < rows; ++r) {
            double d = dy[r * cols + c];
            sg += d * (x[r * cols + c] - mean[r]) / sqrt((double)var[r] + eps);
            sb += d;
        }
        dgamma[c] = (float)sg;
        dbeta[c] = (float)sb;
    }
}
