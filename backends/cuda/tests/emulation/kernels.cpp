// All kernel sources, compiled as C++ with the emulation header (see cuda_on_cpu.h).
#include "cuda_on_cpu.h"

Dim3 blockIdx = {0}, threadIdx = {0}, blockDim = {1}, gridDim = {1};

extern "C" void emu_set_block(unsigned int block, unsigned int grid) {
    blockIdx.x = block;
    gridDim.x = grid;
}

#include "../../kernels/elementwise.cu"
#include "../../kernels/linalg.cu"
#include "../../kernels/rows.cu"
#include "../../kernels/conv.cu"
#include "../../kernels/pool.cu"
#include "../../kernels/norm.cu"
#include "../../kernels/optim.cu"
#include "../../kernels/sequence.cu"
