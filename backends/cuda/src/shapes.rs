//! Every kernel's launch shape, as `(blocks, threads per block)`: the backend launches with
//! these, and the emulation test (`tests/emulation.rs`) runs the kernels with the same ones, so
//! the multi-block grid-stride loops and the block reductions it checks are the launches a GPU
//! sees.

/// Threads per block of every kernel; the block reductions' shared arrays have this size
/// (`SHAPEFLOW_BLOCK`, [`crate::kernels::BLOCK_DEFINE`]).
///
/// ```
/// assert_eq!(shapeflow_cuda::shapes::BLOCK, 256);
/// ```
pub const BLOCK: u32 = 256;

/// Most blocks of a grid-stride launch (the loops cover the rest).
pub const MAX_BLOCKS: usize = 65_535;

/// Most blocks of a reduction to per-block partial sums (summed on the host).
pub const MAX_REDUCTION_BLOCKS: usize = 1024;

/// A launch shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Blocks in the grid.
    pub blocks: u32,
    /// Threads per block.
    pub threads: u32,
}

/// One thread per element over `n` elements, in a grid-stride loop.
///
/// ```
/// let s = shapeflow_cuda::shapes::grid_stride(1000);
/// assert_eq!((s.blocks, s.threads), (4, 256));
/// ```
pub fn grid_stride(n: usize) -> Shape {
    Shape { blocks: n.div_ceil(BLOCK as usize).clamp(1, MAX_BLOCKS) as u32, threads: BLOCK }
}

/// One thread per row (row softmax, the losses' rows).
///
/// ```
/// assert_eq!(shapeflow_cuda::shapes::per_row(300).blocks, 2);
/// ```
pub fn per_row(rows: usize) -> Shape {
    Shape { blocks: rows.div_ceil(BLOCK as usize).max(1) as u32, threads: BLOCK }
}

/// Threads of a warp, the unit the row kernels give each row (`WARP` in `kernels/rows.cu`).
pub const WARP: u32 = 32;

/// One warp per row (row softmax and its backward: the lanes stride along the row).
///
/// ```
/// // 8 rows per block of 256 threads.
/// assert_eq!(shapeflow_cuda::shapes::warp_rows(20).blocks, 3);
/// ```
pub fn warp_rows(rows: usize) -> Shape {
    let per_block = (BLOCK / WARP) as usize;
    Shape { blocks: rows.div_ceil(per_block).max(1) as u32, threads: BLOCK }
}

/// One block per item (per-channel and per-row reductions over a block's threads).
///
/// ```
/// assert_eq!(shapeflow_cuda::shapes::per_item(16).blocks, 16);
/// ```
pub fn per_item(items: usize) -> Shape {
    Shape { blocks: items.max(1) as u32, threads: BLOCK }
}

/// Chunks per channel in the per-channel reductions (batch-norm moments and gradients, bias
/// sums): enough blocks to fill a large GPU (about 2048 in all) without chunks smaller than
/// 4 × [`BLOCK`] values.
///
/// ```
/// use shapeflow_cuda::shapes::channel_splits;
/// assert_eq!(channel_splits(32, 64 * 28 * 28), 49); // 32 channels of 50 176 values
/// assert_eq!(channel_splits(512, 100), 1);
/// ```
pub fn channel_splits(channels: usize, per_channel: usize) -> usize {
    let by_size = per_channel.div_ceil(4 * BLOCK as usize);
    let by_grid = 2048usize.div_ceil(channels.max(1));
    by_size.min(by_grid).clamp(1, 1024)
}

/// One block per chunk of every channel (`channels × splits` blocks).
pub fn channel_chunks(channels: usize, splits: usize) -> Shape {
    Shape { blocks: (channels * splits).max(1) as u32, threads: BLOCK }
}

/// A sum of `n` elements to per-block partials.
///
/// ```
/// assert_eq!(shapeflow_cuda::shapes::reduction(10_000_000).blocks, 1024);
/// ```
pub fn reduction(n: usize) -> Shape {
    Shape {
        blocks: n.div_ceil(BLOCK as usize).clamp(1, MAX_REDUCTION_BLOCKS) as u32,
        threads: BLOCK,
    }
}

impl From<Shape> for cudarc::driver::LaunchConfig {
    fn from(s: Shape) -> Self {
        cudarc::driver::LaunchConfig {
            grid_dim: (s.blocks, 1, 1),
            block_dim: (s.threads, 1, 1),
            shared_mem_bytes: 0,
        }
    }
}
