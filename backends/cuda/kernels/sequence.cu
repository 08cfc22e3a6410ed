// The sequence family (src/sequence.rs). LSTM steps over time-major buffers ([steps, batch, ...]),
// one thread per (sample, hidden unit); a sample whose length is at most the step is finished:
// zeros out, state carried, no gradient. Lengths arrive as floats (exact below 2^24), row indices
// as int (-1: an invalid id, a row of NaN).

__device__ float seq_sigmoid(float x) {
    return x >= 0.0f ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
}

extern "C" __global__ void lstm_step(const float* pre, const float* rec, const float* lengths, float* h, float* c, float* y, float* gates, float* c_prev, float* h_prev, size_t step, size_t batch, size_t hidden) {
    size_t total = batch * hidden;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t b = k / hidden, j = k % hidden;
        size_t at = step * total + k;
        size_t g0 = step * batch * 4 * hidden + b * 4 * hidden;
        h_prev[at] = h[k];
        c_prev[at] = c[k];
        if ((float)step >= lengths[b]) {
            y[at] = 0.0f;
            for (int q = 0; q < 4; q++) gates[g0 + q * hidden + j] = 0.0f;
            continue;
        }
        const float* p = pre + g0;
        const float* r = rec + b * 4 * hidden;
        float i = seq_sigmoid(p[j] + r[j]);
        float f = seq_sigmoid(p[hidden + j] + r[hidden + j]);
        float g = tanhf(p[2 * hidden + j] + r[2 * hidden + j]);
        float o = seq_sigmoid(p[3 * hidden + j] + r[3 * hidden + j]);
        float cn = f * c[k] + i * g;
        c[k] = cn;
        h[k] = o * tanhf(cn);
        y[at] = h[k];
        gates[g0 + j] = i;
        gates[g0 + hidden + j] = f;
        gates[g0 + 2 * hidden + j] = g;
        gates[g0 + 3 * hidden + j] = o;
    }
}

extern "C" __global__ void lstm_step_backward(const float* lengths, const float* gates, const float* c_prev, const float* dy, float* dh, float* dc, float* dpre, float* dgates, size_t step, size_t batch, size_t hidden) {
    size_t total = batch * hidden;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t b = k / hidden, j = k % hidden;
        size_t at = step * total + k;
        size_t l0 = b * 4 * hidden, g0 = step * batch * 4 * hidden + l0;
        if ((float)step >= lengths[b]) {
            for (int q = 0; q < 4; q++) { dpre[g0 + q * hidden + j] = 0.0f; dgates[l0 + q * hidden + j] = 0.0f; }
            continue;
        }
        float i = gates[g0 + j], f = gates[g0 + hidden + j], g = gates[g0 + 2 * hidden + j], o = gates[g0 + 3 * hidden + j];
        float cn = f * c_prev[at] + i * g;
        float tc = tanhf(cn);
        float dht = dh[k] + dy[at];
        float dct = dc[k] + dht * o * (1.0f - tc * tc);
        float d[4] = {dct * g * i * (1.0f - i), dct * c_prev[at] * f * (1.0f - f), dct * i * (1.0f - g * g), dht * tc * o * (1.0f - o)};
        for (int q = 0; q < 4; q++) { dpre[g0 + q * hidden + j] = d[q]; dgates[l0 + q * hidden + j] = d[q]; }
        dc[k] = dct * f;
        dh[k] = 0.0f;
    }
}

extern "C" __global__ void reverse_steps(const float* x, float* y, const int* lengths, size_t batch, size_t steps, size_t width) {
    size_t total = batch * steps * width;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t t = k / (batch * width), b = (k / width) % batch, e = k % width;
        size_t len = (size_t)lengths[b];
        y[k] = t < len ? x[((len - 1 - t) * batch + b) * width + e] : 0.0f;
    }
}

extern "C" __global__ void gather_rows(const float* table, const int* rows, float* out, size_t n, size_t width) {
    size_t total = n * width;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        int r = rows[k / width];
        out[k] = r < 0 ? __int_as_float(0x7fc00000u) : table[(size_t)r * width + k % width];
    }
}

extern "C" __global__ void scatter_add_rows(const float* src, const int* rows, float* table, size_t n, size_t width) {
    size_t total = n * width;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        int r = rows[k / width];
        if (r >= 0) atomicAdd(&table[(size_t)r * width + k % width], src[k]);
    }
}

extern "C" __global__ void mean_steps(const float* x, float* y, const int* lengths, size_t batch, size_t steps, size_t width) {
    size_t total = batch * width;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t b = k / width, e = k % width, len = (size_t)lengths[b];
        float s = 0.0f;
        for (size_t t = 0; t < len && t < steps; t++) s += x[(b * steps + t) * width + e];
        y[k] = s / (float)(len > 0 ? len : 1);
    }
}

extern "C" __global__ void mean_steps_backward(const float* dy, float* dx, const int* lengths, size_t batch, size_t steps, size_t width) {
    size_t total = batch * steps * width;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t b = k / (steps * width), t = (k / width) % steps, e = k % width, len = (size_t)lengths[b];
        dx[k] = t < len ? dy[b * width + e] / (float)(len > 0 ? len : 1) : 0.0f;
    }
}

// GRU (PyTorch's nn.GRU): gates r, z, n; rec holds h·W_hhᵀ + b_hh of this step.
extern "C" __global__ void gru_step(const float* pre, const float* rec, const float* lengths, float* h, float* y, float* gates, float* rec_n, float* h_prev, size_t step, size_t batch, size_t hidden) {
    size_t total = batch * hidden;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t b = k / hidden, j = k % hidden;
        size_t at = step * total + k;
        size_t g0 = step * batch * 3 * hidden + b * 3 * hidden;
        h_prev[at] = h[k];
        if ((float)step >= lengths[b]) {
            y[at] = 0.0f;
            rec_n[at] = 0.0f;
            for (int q = 0; q < 3; q++) gates[g0 + q * hidden + j] = 0.0f;
            continue;
        }
        const float* p = pre + g0;
        const float* r = rec + b * 3 * hidden;
        float rg = seq_sigmoid(p[j] + r[j]);
        float z = seq_sigmoid(p[hidden + j] + r[hidden + j]);
        float n = tanhf(p[2 * hidden + j] + rg * r[2 * hidden + j]);
        float hn = (1.0f - z) * n + z * h[k];
        h[k] = hn;
        y[at] = hn;
        gates[g0 + j] = rg;
        gates[g0 + hidden + j] = z;
        gates[g0 + 2 * hidden + j] = n;
        rec_n[at] = r[2 * hidden + j];
    }
}

extern "C" __global__ void gru_step_backward(const float* lengths, const float* gates, const float* rec_n, const float* h_prev, const float* dy, float* dh, float* dpre, float* drec_all, float* drec, size_t step, size_t batch, size_t hidden) {
    size_t total = batch * hidden;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t b = k / hidden, j = k % hidden;
        size_t at = step * total + k;
        size_t l0 = b * 3 * hidden, g0 = step * batch * 3 * hidden + l0;
        if ((float)step >= lengths[b]) {
            for (int q = 0; q < 3; q++) { dpre[g0 + q * hidden + j] = 0.0f; drec_all[g0 + q * hidden + j] = 0.0f; drec[l0 + q * hidden + j] = 0.0f; }
            continue;
        }
        float rg = gates[g0 + j], z = gates[g0 + hidden + j], n = gates[g0 + 2 * hidden + j];
        float dht = dh[k] + dy[at];
        float dn = dht * (1.0f - z) * (1.0f - n * n);
        float dz = dht * (h_prev[at] - n) * z * (1.0f - z);
        float dr = dn * rec_n[at] * rg * (1.0f - rg);
        float p[3] = {dr, dz, dn}, q3[3] = {dr, dz, dn * rg};
        for (int q = 0; q < 3; q++) { dpre[g0 + q * hidden + j] = p[q]; drec_all[g0 + q * hidden + j] = q3[q]; drec[l0 + q * hidden + j] = q3[q]; }
        dh[k] = dht * z;
    }
}

// A plain recurrent layer: h' = act(pre + rec), act 0 = tanh, 1 = relu.
extern "C" __global__ void rnn_step(const float* pre, const float* rec, const float* lengths, float* h, float* y, float* out, float* h_prev, int act, size_t step, size_t batch, size_t hidden) {
    size_t total = batch * hidden;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t b = k / hidden;
        size_t at = step * total + k;
        h_prev[at] = h[k];
        if ((float)step >= lengths[b]) { y[at] = 0.0f; out[at] = 0.0f; continue; }
        float a = pre[at] + rec[k];
        float v = act == 0 ? tanhf(a) : ((a > 0.0f || a != a) ? a : 0.0f);
        h[k] = v;
        y[at] = v;
        out[at] = v;
    }
}

extern "C" __global__ void rnn_step_backward(const float* lengths, const float* out, const float* dy, float* dh, float* dpre, float* dgates, int act, size_t step, size_t batch, size_t hidden) {
    size_t total = batch * hidden;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t b = k / hidden;
        size_t at = step * total + k;
        if ((float)step >= lengths[b]) { dpre[at] = 0.0f; dgates[k] = 0.0f; continue; }
        float v = out[at], d = dh[k] + dy[at];
        float da = act == 0 ? d * (1.0f - v * v) : (v > 0.0f ? d : 0.0f);
        dpre[at] = da;
        dgates[k] = da;
        dh[k] = 0.0f;
    }
}

// Attention: scores [batch, heads, queries, keys]; a padded key (lengths: the keys'), or (causal)
// a key after its query, gets -inf.
extern "C" __global__ void mask_scores(float* scores, const int* lengths, size_t batch, size_t heads, size_t queries, size_t keys, int causal) {
    size_t total = batch * heads * queries * keys;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t key = k % keys, q = (k / keys) % queries, b = k / (keys * queries * heads);
        size_t len = (size_t)lengths[b];
        if (key >= len || (causal && key > q)) scores[k] = __int_as_float(0xff800000u);
    }
}

// Zeroes the padded steps of a batch-first [batch, steps, width] buffer.
extern "C" __global__ void zero_padding(float* x, const int* lengths, size_t batch, size_t steps, size_t width) {
    size_t total = batch * steps * width;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t t = (k / width) % steps, b = k / (steps * width);
        if (t >= (size_t)lengths[b]) x[k] = 0.0f;
    }
}

// Rotary position embeddings over [blocks, steps, head]: each head's halves rotated by the step's
// angles (cos, sin: [steps, head / 2]); inverse rotates back. One thread per pair.
extern "C" __global__ void rotary(const float* x, float* y, const float* cosv, const float* sinv, size_t blocks, size_t steps, size_t head, int inverse) {
    size_t half = head / 2, total = blocks * steps * half;
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)blockDim.x * gridDim.x) {
        size_t j = k % half, row = k / half, t = row % steps;
        float c = cosv[t * half + j], s = sinv[t * half + j];
        if (inverse) s = -s;
        float a = x[row * head + j], b = x[row * head + half + j];
        y[row * head + j] = a * c - b * s;
        y[row * head + half + j] = b * c + a * s;
    }
}
