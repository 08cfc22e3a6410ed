//! Seeded random numbers: a small SplitMix64 generator, and the counter-based hash that dropout
//! masks use so that every backend draws the same mask for the same seed.

/// SplitMix64 finaliser: a high-quality 64-bit mix, the heart of both generators here.
///
/// ```
/// assert_ne!(shapeflow_core::rng::mix64(1), shapeflow_core::rng::mix64(2));
/// ```
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)` from `(seed, index)`: the counter-based RNG behind dropout.
///
/// ```
/// let u = shapeflow_core::rng::hash_uniform(7, 3);
/// assert!((0.0..1.0).contains(&u));
/// ```
pub fn hash_uniform(seed: u64, index: u64) -> f64 {
    let bits = mix64(seed ^ mix64(index));
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A seeded random generator (SplitMix64) for initialisation and shuffling.
///
/// ```
/// let mut a = shapeflow_core::Rng::new(42);
/// let mut b = shapeflow_core::Rng::new(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng { state: mix64(seed ^ 0x5348_4150_4546_4C4F) }
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }
    /// Uniform in `[0, 1)`.
    ///
    /// ```
    /// let u = shapeflow_core::Rng::new(1).uniform();
    /// assert!((0.0..1.0).contains(&u));
    /// ```
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Uniform in `[lo, hi)`.
    ///
    /// ```
    /// let v = shapeflow_core::Rng::new(1).uniform_in(-2.0, 2.0);
    /// assert!((-2.0..2.0).contains(&v));
    /// ```
    pub fn uniform_in(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
    /// Standard normal (Box–Muller).
    ///
    /// ```
    /// let mut rng = shapeflow_core::Rng::new(3);
    /// let mean = (0..10_000).map(|_| rng.normal()).sum::<f64>() / 10_000.0;
    /// assert!(mean.abs() < 0.05);
    /// ```
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    /// Uniform integer in `0..n` (`n > 0`), without modulo bias worth measuring for `n < 2^32`.
    ///
    /// ```
    /// assert!(shapeflow_core::Rng::new(5).below(10) < 10);
    /// ```
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }
    /// Fisher–Yates shuffle.
    ///
    /// ```
    /// let mut v: Vec<u32> = (0..10).collect();
    /// shapeflow_core::Rng::new(2).shuffle(&mut v);
    /// v.sort();
    /// assert_eq!(v, (0..10).collect::<Vec<_>>());
    /// ```
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
    /// The generator's internal state (for checkpoints).
    ///
    /// ```
    /// use shapeflow_core::Rng;
    /// let mut a = Rng::new(9);
    /// a.next_u64();
    /// let mut b = Rng::from_state(a.state());
    /// assert_eq!(a.next_u64(), b.next_u64());
    /// ```
    pub fn state(&self) -> u64 {
        self.state
    }
    /// A generator resumed from [`Rng::state`].
    pub fn from_state(state: u64) -> Rng {
        Rng { state }
    }
    /// A new independent generator (for a sub-layer), advancing this one.
    ///
    /// ```
    /// let mut parent = shapeflow_core::Rng::new(1);
    /// let mut child = parent.fork();
    /// assert_ne!(child.next_u64(), parent.next_u64());
    /// ```
    pub fn fork(&mut self) -> Rng {
        Rng { state: self.next_u64() }
    }
}
