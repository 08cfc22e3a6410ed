// The normalisation family (src/norm.rs). Batch normalisation over [outer, channels, inner]:
// moments per channel (one block per channel, double accumulation), the affine apply, and the
// training-mode backward. Layer normalisation over the rows of [rows, cols]: one block per row
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

extern "C" __global__ void channel_moments(const float* x, float* mean, float* var, size_t outer, size_t channels, size_t inner) {
    __shared__ double part[SHAPEFLOW_BLOCK];
    size_t c = blockIdx.x;
    size_t m = outer * inner;
    double s = 0.0;
    for (size_t k = threadIdx.x; k < m; k += blockDim.x) s += x[((k / inner) * channels + c) * inner + k % inner];
    double mu = block_sum(s, part) / (double)m;
    double q = 0.0;
    for (size_t k = threadIdx.x; k < m; k += blockDim.x) {
        double d = x[((k / inner) * channels + c) * inner + k % inner] - mu;
        q += d * d;
    }
    double v = block_sum(q, part) / (double)m;
    if (threadIdx.x == 0) { mean[c] = (float)mu; var[c] = (float)v; }
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

// One block per channel: dbeta = sum dy, dgamma = sum dy * xhat, then dx.
extern "C" __global__ void batch_norm_backward(const float* x, const float* dy, const float* mean, const float* var, const float* gamma, float* dx, float* dgamma, float* dbeta, double eps, size_t outer, size_t channels, size_t inner) {
    __shared__ double part[SHAPEFLOW_BLOCK];
    size_t c = blockIdx.x;
    size_t m = outer * inner;
    double mu = mean[c];
    double invstd = 1.0 / sqrt((double)var[c] + eps);
    double sdy = 0.0, sdyx = 0.0;
    for (size_t k = threadIdx.x; k < m; k += blockDim.x) {
        size_t at = ((k / inner) * channels + c) * inner + k % inner;
        double g = dy[at];
        sdy += g;
        sdyx += g * (x[at] - mu) * invstd;
    }
    sdy = block_sum(sdy, part);
    sdyx = block_sum(sdyx, part);
    if (threadIdx.x == 0) { dbeta[c] = (float)sdy; dgamma[c] = (float)sdyx; }
    double kf = gamma[c] * invstd / (double)m;
    for (size_t k = threadIdx.x; k < m; k += blockDim.x) {
        size_t at = ((k / inner) * channels + c) * inner + k % inner;
        double xhat = (x[at] - mu) * invstd;
        dx[at] = (float)(kf * ((double)m * dy[at] - sdy - xhat * sdyx));
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
