// The strided family (src/strided.rs): the tensor op set's generic kernels. Elementwise
// functions and their derivatives (op codes as `unary_code` in src/strided.rs, formulas as
// `UnaryOp::apply`/`derivative` in core/src/backend/scalar_ops.rs), binary ops and a select over
// broadcast views of rank up to 6, strided copies, and reductions along one axis (one thread
// per output value, sums in double precision in index order). One thread per element,
// grid-stride loops.
#ifndef GRID_STRIDE
#define GRID_STRIDE(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)blockDim.x * gridDim.x)
#endif

#define U_NEG 0
#define U_ABS 1
#define U_EXP 2
#define U_LOG 3
#define U_LOG1P 4
#define U_SQRT 5
#define U_RSQRT 6
#define U_RECIP 7
#define U_SQUARE 8
#define U_POWF 9
#define U_SIN 10
#define U_COS 11
#define U_TANH 12
#define U_SIGMOID 13
#define U_RELU 14
#define U_GELU 15
#define U_SILU 16
#define U_SOFTPLUS 17
#define U_CLAMP 18
#define U_SIGN 19
#define U_ADD_SCALAR 20
#define U_MUL_SCALAR 21
#define U_RSUB_SCALAR 22
#define U_RDIV_SCALAR 23
#define U_RPOW_SCALAR 24

#define B_ADD 0
#define B_SUB 1
#define B_MUL 2
#define B_DIV 3
#define B_MAXIMUM 4
#define B_MINIMUM 5
#define B_POW 6
#define B_EQ 7
#define B_NE 8
#define B_LT 9
#define B_LE 10
#define B_GT 11
#define B_GE 12

#define R_SUM 0
#define R_MAX 1
#define R_MIN 2
#define R_ARGMAX 3
#define R_ARGMIN 4

// Up to three views over one index space of rank <= 6: sizes, and each view's offset and
// strides in elements (0 on a broadcast axis). Laid out as `StridedGeom` in src/strided.rs.
struct StridedGeom {
    long long rank;
    long long dims[6];
    long long off[3];
    long long strides[3][6];
};

__device__ float sigmoid_of(float x) {
    if (x >= 0.0f) { return 1.0f / (1.0f + expf(-x)); }
    float e = expf(x);
    return e / (1.0f + e);
}

__device__ float sign_of(float x) {
    return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x * 0.0f);
}

__device__ float unary_apply(int op, float x, float p, float q) {
    switch (op) {
        case U_NEG: return -x;
        case U_ABS: return fabsf(x);
        case U_EXP: return expf(x);
        case U_LOG: return logf(x);
        case U_LOG1P: return log1pf(x);
        case U_SQRT: return sqrtf(x);
        case U_RSQRT: return 1.0f / sqrtf(x);
        case U_RECIP: return 1.0f / x;
        case U_SQUARE: return x * x;
        case U_POWF: return powf(x, p);
        case U_SIN: return sinf(x);
        case U_COS: return cosf(x);
        case U_TANH: return tanhf(x);
        case U_SIGMOID: return sigmoid_of(x);
        case U_RELU: return (x > 0.0f || x != x) ? x : 0.0f;
        case U_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
        case U_SILU: return x * sigmoid_of(x);
        case U_SOFTPLUS: return x > 20.0f ? x : log1pf(expf(x));
        case U_CLAMP: return x != x ? x : fminf(fmaxf(x, p), q);
        case U_SIGN: return sign_of(x);
        case U_ADD_SCALAR: return x + p;
        case U_MUL_SCALAR: return x * p;
        case U_RSUB_SCALAR: return p - x;
        case U_RDIV_SCALAR: return p / x;
        default: return powf(p, x);  // U_RPOW_SCALAR
    }
}

// f'(x), given the input x and the output y = f(x).
__device__ float unary_derivative(int op, float x, float y, float p, float q) {
    switch (op) {
        case U_NEG: return -1.0f;
        case U_ABS: return sign_of(x);
        case U_EXP: return y;
        case U_LOG: return 1.0f / x;
        case U_LOG1P: return 1.0f / (1.0f + x);
        case U_SQRT: return 0.5f / y;
        case U_RSQRT: return -0.5f * y * y * y;
        case U_RECIP: return -(y * y);
        case U_SQUARE: return 2.0f * x;
        case U_POWF: return p * powf(x, p - 1.0f);
        case U_SIN: return cosf(x);
        case U_COS: return -sinf(x);
        case U_TANH: return 1.0f - y * y;
        case U_SIGMOID: return y * (1.0f - y);
        case U_RELU: return x > 0.0f ? 1.0f : 0.0f;
        case U_GELU: {
            float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
            float pdf = expf(-0.5f * x * x) * 0.3989422804014327f;
            return cdf + x * pdf;
        }
        case U_SILU: {
            float s = sigmoid_of(x);
            return s * (1.0f + x * (1.0f - s));
        }
        case U_SOFTPLUS: return x > 20.0f ? 1.0f : sigmoid_of(x);
        case U_CLAMP: return (x >= p && x <= q) ? 1.0f : 0.0f;
        case U_SIGN: return 0.0f;
        case U_ADD_SCALAR: return 1.0f;
        case U_MUL_SCALAR: return p;
        case U_RSUB_SCALAR: return -1.0f;
        case U_RDIV_SCALAR: return -y / x;
        default: return y * logf(p);  // U_RPOW_SCALAR
    }
}

__device__ float binary_apply(int op, float a, float b) {
    switch (op) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return a / b;
        case B_MAXIMUM: return (a != a || b != b) ? a + b : fmaxf(a, b);
        case B_MINIMUM: return (a != a || b != b) ? a + b : fminf(a, b);
        case B_POW: return powf(a, b);
        case B_EQ: return a == b ? 1.0f : 0.0f;
        case B_NE: return a != b ? 1.0f : 0.0f;
        case B_LT: return a < b ? 1.0f : 0.0f;
        case B_LE: return a <= b ? 1.0f : 0.0f;
        case B_GT: return a > b ? 1.0f : 0.0f;
        default: return a >= b ? 1.0f : 0.0f;  // B_GE
    }
}

// The offset in view v of the element at flat (row-major) index i of the index space.
__device__ size_t view_offset(const StridedGeom& g, int v, size_t i) {
    size_t off = (size_t)g.off[v];
    for (int ax = (int)g.rank - 1; ax >= 0; ax--) {
        size_t d = (size_t)g.dims[ax];
        off += (i % d) * (size_t)g.strides[v][ax];
        i /= d;
    }
    return off;
}

extern "C" __global__ void strided_unary(const float* x, float* y, int op, float p, float q, size_t n) {
    GRID_STRIDE(i, n) { y[i] = unary_apply(op, x[i], p, q); }
}

extern "C" __global__ void strided_unary_grad(const float* x, const float* y, const float* dy, float* dx, int op, float p, float q, size_t n) {
    GRID_STRIDE(i, n) { dx[i] = dy[i] * unary_derivative(op, x[i], y[i], p, q); }
}

// out (contiguous) = op(a through view 0, b through view 1).
extern "C" __global__ void strided_binary(const float* a, const float* b, float* out, int op, StridedGeom g, size_t n) {
    GRID_STRIDE(i, n) { out[i] = binary_apply(op, a[view_offset(g, 0, i)], b[view_offset(g, 1, i)]); }
}

// out (contiguous) = mask (view 0) != 0 ? a (view 1) : b (view 2).
extern "C" __global__ void strided_select(const float* mask, const float* a, const float* b, float* out, StridedGeom g, size_t n) {
    GRID_STRIDE(i, n) {
        out[i] = mask[view_offset(g, 0, i)] != 0.0f ? a[view_offset(g, 1, i)] : b[view_offset(g, 2, i)];
    }
}

// dst (view 1) = src (view 0) over the index space.
extern "C" __global__ void strided_copy(const float* src, float* dst, StridedGeom g, size_t n) {
    GRID_STRIDE(i, n) { dst[view_offset(g, 1, i)] = src[view_offset(g, 0, i)]; }
}

// x viewed as [outer, len, inner] reduced along len: one thread per output value.
extern "C" __global__ void strided_reduce(const float* x, float* out, int op, size_t outer, size_t len, size_t inner) {
    GRID_STRIDE(o, outer * inner) {
        size_t base = (o / inner) * len * inner + o % inner;
        if (op == R_SUM) {
            double s = 0.0;
            for (size_t j = 0; j < len; j++) { s += (double)x[base + j * inner]; }
            out[o] = (float)s;
        } else {
            int want_max = (op == R_MAX || op == R_ARGMAX);
            size_t best_i = 0;
            float best = (want_max ? -1.0f : 1.0f) / 0.0f;  // an empty axis: -inf or +inf
            for (size_t j = 0; j < len; j++) {
                float v = x[base + j * inner];
                if (j == 0) { best = v; best_i = 0; continue; }
                if (best != best) { break; }  // the first NaN wins
                if (v != v || (want_max && v > best) || (!want_max && v < best)) { best = v; best_i = j; }
            }
            out[o] = (op == R_MAX || op == R_MIN) ? best : (float)best_i;
        }
    }
}

// Gathers along an axis: x around it is [outer, len, inner], out is [outer, k, inner], and
// idx (one index per output value, each below len) picks the entry of the axis.
extern "C" __global__ void strided_gather(const float* x, const int* idx, float* out, size_t outer, size_t len, size_t inner, size_t k) {
    GRID_STRIDE(p, outer * k * inner) {
        size_t o = p / (k * inner), i = p % inner;
        out[p] = x[(o * len + (size_t)idx[p]) * inner + i];
    }
}

// The adjoint of strided_gather: dst[o, idx[p], i] += src[p] (repeated indices add up).
extern "C" __global__ void strided_scatter_add(const float* src, const int* idx, float* dst, size_t outer, size_t len, size_t inner, size_t k) {
    GRID_STRIDE(p, outer * k * inner) {
        size_t o = p / (k * inner), i = p % inner;
        atomicAdd(&dst[(o * len + (size_t)idx[p]) * inner + i], src[p]);
    }
}
