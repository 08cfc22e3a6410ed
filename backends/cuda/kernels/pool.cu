// Max and average pooling (PyTorch semantics: padding never wins a max; averages divide by the
// full window) and their backward passes. One thread per output (forward) or input (backward).

#ifndef SHAPEFLOW_GEOM
#define SHAPEFLOW_GEOM
struct Geom {
    int n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
};
#endif

extern "C" __global__ void max_pool2d(const float* x, float* y, float* argmax, Geom g) {
    size_t total = (size_t)g.n * g.c * g.oh * g.ow;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        int ox = k % g.ow, oy = (k / g.ow) % g.oh;
        size_t plane = k / ((size_t)g.ow * g.oh);
        const float* xs = x + plane * g.h * g.w;
        float best = __int_as_float(0xff800000);
        int at = 0;
        bool nan = false;
        for (int i = 0; i < g.kh && !nan; ++i) {
            int iy = oy * g.sh - g.ph + i;
            if (iy < 0 || iy >= g.h) continue;
            for (int j = 0; j < g.kw; ++j) {
                int ix = ox * g.sw - g.pw + j;
                if (ix < 0 || ix >= g.w) continue;
                float v = xs[iy * g.w + ix];
                if (v > best || isnan(v)) {
                    best = v;
                    at = i * g.kw + j;
                    if (isnan(v)) { nan = true; break; }
                }
            }
        }
        y[k] = best;
        // The winning tap of the window (exact in a float for any window, unlike a plane index).
        argmax[k] = (float)at;
    }
}

extern "C" __global__ void max_pool2d_backward(const float* dy, const float* argmax, float* dx, Geom g) {
    size_t total = (size_t)g.n * g.c * g.oh * g.ow;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        int ox = k % g.ow, oy = (k / g.ow) % g.oh;
        size_t plane = k / ((size_t)g.ow * g.oh);
        int tap = (int)argmax[k];
        int iy = oy * g.sh - g.ph + tap / g.kw, ix = ox * g.sw - g.pw + tap % g.kw;
        if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) {
            atomicAdd(&dx[plane * g.h * g.w + (size_t)iy * g.w + ix], dy[k]);
        }
    }
}

extern "C" __global__ void avg_pool2d(const float* x, float* y, Geom g) {
    size_t total = (size_t)g.n * g.c * g.oh * g.ow;
    float inv = 1.0f / (float)(g.kh * g.kw);
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        int ox = k % g.ow, oy = (k / g.ow) % g.oh;
        size_t plane = k / ((size_t)g.ow * g.oh);
        const float* xs = x + plane * g.h * g.w;
        float s = 0.0f;
        for (int i = 0; i < g.kh; ++i) {
            int iy = oy * g.sh - g.ph + i;
            if (iy < 0 || iy >= g.h) continue;
            for (int j = 0; j < g.kw; ++j) {
                int ix = ox * g.sw - g.pw + j;
                if (ix >= 0 && ix < g.w) s += xs[iy * g.w + ix];
            }
        }
        y[k] = s * inv;
    }
}

// Each input element gathers the shares of every window that covers it.
extern "C" __global__ void avg_pool2d_backward(const float* dy, float* dx, Geom g) {
    size_t total = (size_t)g.n * g.c * g.h * g.w;
    float inv = 1.0f / (float)(g.kh * g.kw);
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        int ix = k % g.w, iy = (k / g.w) % g.h;
        size_t plane = k / ((size_t)g.w * g.h);
        const float* gs = dy + plane * g.oh * g.ow;
        float s = 0.0f;
        for (int i = 0; i < g.kh; ++i) {
            int ty = iy + g.ph - i;
            if (ty < 0 || ty % g.sh != 0) continue;
            int oy = ty / g.sh;
            if (oy >= g.oh) continue;
            for (int j = 0; j < g.kw; ++j) {
                int tx = ix + g.pw - j;
                if (tx < 0 || tx % g.sw != 0) continue;
                int ox = tx / g.sw;
                if (ox < g.ow) s += gs[oy * g.ow + ox];
            }
        }
        dx[k] = s * inv;
    }
}
