//! What parsing a `:predict` body costs in memory: the body plus at most four bytes per two
//! bytes of body (the values, reserved once), never a JSON tree (some 30 bytes per number).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use shapeflow_serve::request::parse_predict;

/// The system allocator, counting the bytes live and the peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the counters only
// observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(now, Relaxed);
        // SAFETY: the caller's layout contract is passed on as it came.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

#[test]
fn a_large_request_costs_its_body_and_its_values_not_a_json_tree() {
    // 2,000 MNIST-sized instances of zeros: the densest body there is (2 bytes per number).
    let row = format!("[{}]", vec!["0"; 784].join(","));
    let body = format!("{{\"instances\": [{}]}}", vec![row; 2000].join(",")).into_bytes();
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let parsed = parse_predict(&body, "input", &[784]).unwrap();
    let extra = PEAK.load(Relaxed) - before;
    assert_eq!((parsed.batch, parsed.values.len()), (2000, 2000 * 784));
    // The values (4 bytes each) fill most of a buffer of one value per two body bytes.
    assert!(extra <= 2 * body.len() + (64 << 10), "{extra} bytes for a {}-byte body", body.len());
    println!(
        "a {:.1} MB body parsed with {:.1} MB more at the peak ({:.2}× the body)",
        body.len() as f64 / 1e6,
        extra as f64 / 1e6,
        extra as f64 / body.len() as f64
    );
}
