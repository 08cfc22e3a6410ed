// The linear-algebra family (src/linalg.rs) besides cuBLAS's products: bias and channel
// broadcasts and sums, block transposes, row concatenation and its split.
#ifndef SHAPEFLOW_BLOCK
#error "compile with -DSHAPEFLOW_BLOCK=<threads per block>: the launches' block size, which sizes the shared-memory reductions"
#endif

#ifndef GRID_STRIDE
#define GRID_STRIDE(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)blockDim.x * gridDim.x)
#endif

// y[r, c] += bias[c]
extern "C" __global__ void add_bias(float* y, const float* bias, size_t rows, size_t cols) {
    GRID_STRIDE(i, rows * cols) { y[i] += bias[i % cols]; }
}

// out[c] = sum_r x[r, c]; one thread per column.
extern "C" __global__ void sum_rows(const float* x, float* out, size_t rows, size_t cols) {
    GRID_STRIDE(c, cols) {
        double s = 0.0;
        for (size_t r = 0; r < rows; ++r) { s += x[r * cols + c]; }
        out[c] = (float)s;
    }
}

// y[o, c, i] += bias[c]
extern "C" __global__ void add_channel_bias(float* y, const float* bias, size_t outer, size_t channels, size_t inner) {
    GRID_STRIDE(i, outer * channels * inner) { y[i] += bias[(i / inner) % channels]; }
}

// y[b, c, r, i] = x[b, r, c, i]
extern "C" __global__ void transpose_blocks(const float* x, float* y, size_t batch, size_t rows, size_t cols, size_t inner) {
    GRID_STRIDE(k, batch * rows * cols * inner) {
        size_t i = k % inner;
        size_t r = (k / inner) % rows;
        size_t c = (k / (inner * rows)) % cols;
        size_t b = k / (inner * rows * cols);
        y[k] = x[((b * rows + r) * cols + c) * inner + i];
    }
}

// y[r] = [a[r], b[r]]: rows of `left` and `right` values joined.
extern "C" __global__ void concat_rows(const float* a, const float* b, float* y, size_t rows, size_t left, size_t right) {
    size_t width = left + right;
    GRID_STRIDE(k, rows * width) {
        size_t r = k / width, c = k % width;
        y[k] = c < left ? a[r * left + c] : b[r * right + (c - left)];
    }
}

// The adjoint of concat_rows: each row of y split into a and b.
extern "C" __global__ void split_rows(const float* y, float* a, float* b, size_t rows, size_t left, size_t right) {
    size_t width = left + right;
    GRID_STRIDE(k, rows * width) {
        size_t r = k / width, c = k % width;
        if (c < left) { a[r * left + c] = y[k]; } else { b[r * right + (c - left)] = y[k]; }
    }
}
