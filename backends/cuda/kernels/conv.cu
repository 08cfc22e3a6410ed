// im2col / col2im for convolutions as one matrix product over the batch.
// cols is [c*kh*kw, n*oh*ow]; geometry as shapeflow_core::backend::Window2d.

#ifndef SHAPEFLOW_GEOM
#define SHAPEFLOW_GEOM
struct Geom {
    int n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
};
#endif

extern "C" __global__ void im2col(const float* x, float* cols, Geom g) {
    size_t per = (size_t)g.oh * g.ow;
    size_t total = (size_t)g.c * g.kh * g.kw * g.n * per;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t col = k % ((size_t)g.n * per);
        size_t row = k / ((size_t)g.n * per);
        int j = row % g.kw, i = (row / g.kw) % g.kh, c = row / (g.kw * g.kh);
        int nidx = col / per;
        int oy = (col % per) / g.ow, ox = col % g.ow;
        int iy = oy * g.sh - g.ph + i * g.dh;
        int ix = ox * g.sw - g.pw + j * g.dw;
        float v = 0.0f;
        if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) {
            v = x[(((size_t)nidx * g.c + c) * g.h + iy) * g.w + ix];
        }
        cols[k] = v;
    }
}

// Each input element gathers every column entry that read it (no atomics).
extern "C" __global__ void col2im(const float* cols, float* dx, Geom g) {
    size_t per = (size_t)g.oh * g.ow;
    size_t total = (size_t)g.n * g.c * g.h * g.w;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        int ix = k % g.w, iy = (k / g.w) % g.h, c = (k / ((size_t)g.w * g.h)) % g.c;
        int nidx = k / ((size_t)g.w * g.h * g.c);
        float s = 0.0f;
        for (int i = 0; i < g.kh; ++i) {
            int ty = iy + g.ph - i * g.dh;
            if (ty < 0 || ty % g.sh != 0) continue;
            int oy = ty / g.sh;
            if (oy >= g.oh) continue;
            for (int j = 0; j < g.kw; ++j) {
                int tx = ix + g.pw - j * g.dw;
                if (tx < 0 || tx % g.sw != 0) continue;
                int ox = tx / g.sw;
                if (ox >= g.ow) continue;
                size_t row = ((size_t)c * g.kh + i) * g.kw + j;
                s += cols[row * g.n * per + (size_t)nidx * per + (size_t)oy * g.ow + ox];
            }
        }
        dx[k] = s;
    }
}
