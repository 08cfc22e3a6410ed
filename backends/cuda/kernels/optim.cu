// The optimizer family (src/optim.rs): fused updates with PyTorch's rules: Adam/AdamW, SGD
// (momentum, dampening, Nesterov, weight decay), RMSprop (centered, momentum) and Adagrad.

__device__ void adam_update(float* p, const float* g, float* m, float* v, float step_size, float bc2_sqrt, float b1, float b2, float eps, float wd, float decay, int l2, int decoupled, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)blockDim.x * gridDim.x) {
        float grad = l2 ? g[i] + wd * p[i] : g[i];
        float pi = decoupled ? p[i] * decay : p[i];
        float mi = b1 * m[i] + (1.0f - b1) * grad;
        float vi = b2 * v[i] + (1.0f - b2) * grad * grad;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
    }
}

extern "C" __global__ void adam_step(float* p, const float* g, float* m, float* v, float step_size, float bc2_sqrt, float b1, float b2, float eps, float wd, float decay, int l2, int decoupled, size_t n) {
    adam_update(p, g, m, v, step_size, bc2_sqrt, b1, b2, eps, wd, decay, l2, decoupled, n);
}

// Adam inside a captured CUDA graph: the step is `t0 + *offset`, the offset written before each
// replay, so the bias corrections (computed here as the host computes them, in double) follow
// the step count instead of staying those of the captured step.
extern "C" __global__ void adam_step_replayed(float* p, const float* g, float* m, float* v, const unsigned int* offset, double lr, double beta1, double beta2, double t0, float eps, float wd, float decay, int l2, int decoupled, size_t n) {
    double t = t0 + (double)offset[0];
    float step_size = (float)(lr / (1.0 - pow(beta1, t)));
    float bc2_sqrt = (float)sqrt(1.0 - pow(beta2, t));
    adam_update(p, g, m, v, step_size, bc2_sqrt, (float)beta1, (float)beta2, eps, wd, decay, l2, decoupled, n);
}

extern "C" __global__ void sgd_step(float* p, const float* g, float* buf, float lr, float momentum, float damp, float wd, int has_buf, int first, int nesterov, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)blockDim.x * gridDim.x) {
        float d = g[i] + wd * p[i];
        if (has_buf) {
            float b = first ? d : momentum * buf[i] + damp * d;
            buf[i] = b;
            d = nesterov ? d + momentum * b : b;
        }
        p[i] -= lr * d;
    }
}

extern "C" __global__ void rmsprop_step(float* p, const float* g, float* square_avg, float* grad_avg, float* buf, float lr, float alpha, float eps, float wd, float momentum, int centered, int has_buf, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)blockDim.x * gridDim.x) {
        float grad = g[i] + wd * p[i];
        float v = alpha * square_avg[i] + (1.0f - alpha) * grad * grad;
        square_avg[i] = v;
        if (centered) {
            float m = alpha * grad_avg[i] + (1.0f - alpha) * grad;
            grad_avg[i] = m;
            v = v - m * m;
        }
        float step = grad / (sqrtf(v) + eps);
        if (has_buf) {
            float b = momentum * buf[i] + step;
            buf[i] = b;
            step = b;
        }
        p[i] -= lr * step;
    }
}

extern "C" __global__ void adagrad_step(float* p, const float* g, float* sum, float clr, float eps, float wd, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)blockDim.x * gridDim.x) {
        float grad = g[i] + wd * p[i];
        float s = sum[i] + grad * grad;
        sum[i] = s;
        p[i] -= clr * grad / (sqrtf(s) + eps);
    }
}
