// The emulation's runtime: block and thread indices, the block barrier, and the launch of one
// block's threads. The test appends every kernel source (each `extern "C" __global__` kernel
// renamed `name__kernel`) and a C entry point per kernel that calls `emu_threads`.
#include "cuda_on_cpu.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

thread_local Dim3 threadIdx = {0};
Dim3 blockIdx = {0}, blockDim = {1}, gridDim = {1};

static std::mutex emu_lock;
static std::condition_variable emu_changed;
static unsigned int emu_alive = 0, emu_waiting = 0;
static unsigned long long emu_generation = 0;
static int emu_stuck = 0;

extern "C" void emu_set_block(unsigned int block, unsigned int grid, unsigned int threads) {
    blockIdx.x = block;
    gridDim.x = grid;
    blockDim.x = threads;
}

// Barriers that timed out (some thread never arrived) since the last call; resets the count.
extern "C" int emu_take_stuck() {
    std::lock_guard<std::mutex> l(emu_lock);
    int n = emu_stuck;
    emu_stuck = 0;
    return n;
}

static void emu_release() {
    emu_waiting = 0;
    ++emu_generation;
    emu_changed.notify_all();
}

void emu_syncthreads() {
    std::unique_lock<std::mutex> l(emu_lock);
    unsigned long long gen = emu_generation;
    if (++emu_waiting == emu_alive) {
        emu_release();
        return;
    }
    if (!emu_changed.wait_for(l, std::chrono::seconds(60), [&] { return emu_generation != gen; })) {
        ++emu_stuck;
        emu_release();
    }
}

static float emu_lanes[1024];

float emu_shfl_xor(float v, int lane_mask) {
    emu_lanes[threadIdx.x] = v;
    emu_syncthreads();
    float other = emu_lanes[threadIdx.x ^ (unsigned int)lane_mask];
    emu_syncthreads();
    return other;
}

static void emu_thread_exits() {
    std::lock_guard<std::mutex> l(emu_lock);
    --emu_alive;
    if (emu_waiting > 0 && emu_waiting == emu_alive) emu_release();
}

// A block's threads are a pool of persistent threads (thread t plays threadIdx.x = t), woken
// for each block: spawning 256 threads per block made the suite slow. The pool lives as long
// as the process (the test never unloads the library).
struct EmuPool {
    std::mutex lock;
    std::condition_variable start, done;
    std::vector<std::thread> threads;
    unsigned long long epoch = 0;
    unsigned int active = 0, left = 0;
    const std::function<void()>* body = nullptr;
};
static EmuPool* emu_pool = new EmuPool;

static void emu_worker(unsigned int t) {
    threadIdx.x = t;
    unsigned long long seen = 0;
    std::unique_lock<std::mutex> l(emu_pool->lock);
    for (;;) {
        emu_pool->start.wait(l, [&] { return emu_pool->epoch != seen; });
        seen = emu_pool->epoch;
        if (t >= emu_pool->active) continue;
        const std::function<void()>* body = emu_pool->body;
        l.unlock();
        (*body)();
        emu_thread_exits();
        l.lock();
        if (--emu_pool->left == 0) emu_pool->done.notify_all();
    }
}

void emu_threads(const std::function<void()>& body) {
    unsigned int n = blockDim.x;
    {
        std::lock_guard<std::mutex> l(emu_lock);
        emu_alive = n;
        emu_waiting = 0;
    }
    std::unique_lock<std::mutex> l(emu_pool->lock);
    while (emu_pool->threads.size() < n) {
        emu_pool->threads.emplace_back(emu_worker, (unsigned int)emu_pool->threads.size());
        emu_pool->threads.back().detach();
    }
    emu_pool->active = n;
    emu_pool->left = n;
    emu_pool->body = &body;
    ++emu_pool->epoch;
    emu_pool->start.notify_all();
    emu_pool->done.wait(l, [] { return emu_pool->left == 0; });
}
