// Reductions to per-block partial sums in double precision; the host adds the partials.

extern "C" __global__ void sum_partial(const float* x, double* partial, size_t n, int squares) {
    __shared__ double part[256];
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
