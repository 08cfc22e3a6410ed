//! Fuzz-style: ≥ 10,000 corrupted checkpoints (every truncation, single-bit flips, hostile
//! headers). Every one must load as an `Err`, none may panic, and the model must be unchanged.

use shapeflow::checkpoint;

use crate::roundtrip::{tmp, trained};

fn check_all(cases: impl Iterator<Item = Vec<u8>>, reference: &[f32]) -> usize {
    let path = tmp(&format!("fuzz-{:?}.safetensors", std::thread::current().id()));
    let mut model = trained();
    let mut count = 0;
    for bytes in cases {
        std::fs::write(&path, &bytes).unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            checkpoint::load(&mut model, &path)
        }));
        match result {
            Err(_) => panic!("the loader panicked on case {count} ({} bytes)", bytes.len()),
            Ok(Ok(())) => panic!(
                "a corrupted file loaded without error (case {count}, {} bytes)",
                bytes.len()
            ),
            Ok(Err(_)) => {}
        }
        count += 1;
    }
    assert_eq!(model.fc.weight.to_vec(), reference, "failed loads never change the model");
    count
}

fn good_file() -> (Vec<u8>, Vec<f32>) {
    let m = trained();
    let path = tmp("fuzz-source.safetensors");
    checkpoint::save(&m, &path).unwrap();
    (std::fs::read(&path).unwrap(), m.fc.weight.to_vec())
}

#[test]
fn ten_thousand_corrupted_checkpoints_are_errors_not_panics() {
    let (good, reference) = good_file();
    let n = good.len();
    let mut total = 0;
    // Every truncation.
    total += check_all((0..n).map(|len| good[..len].to_vec()), &reference);
    // Single-bit flips: every bit of the header, then data bits spread over the payload.
    let header_len = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut flips: Vec<(usize, u8)> = (0..header_len * 8).map(|b| (b / 8, (b % 8) as u8)).collect();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    while flips.len() < 12_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let pos = header_len + (state as usize) % (n - header_len);
        flips.push((pos, (state >> 40) as u8 % 8));
    }
    total += check_all(
        flips.into_iter().map(|(pos, bit)| {
            let mut b = good.clone();
            b[pos] ^= 1 << bit;
            b
        }),
        &reference,
    );
    // Hostile headers: huge lengths, non-JSON, wrong types, overlapping and out-of-range offsets.
    let hostile: Vec<Vec<u8>> = [
        &b"{}"[..],
        b"{\"fc.weight\": 5}",
        b"{\"fc.weight\": {\"dtype\": \"F32\", \"shape\": [3, 36], \"data_offsets\": [0, 99999999]}}",
        b"{\"fc.weight\": {\"dtype\": \"F32\", \"shape\": [18446744073709551615, 2], \"data_offsets\": [0, 8]}}",
        b"{\"fc.weight\": {\"dtype\": \"Q9\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
        b"[1, 2, 3]",
        b"\xff\xfe\xfd",
    ]
    .iter()
    .map(|h| {
        let mut v = (h.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(h);
        v.extend_from_slice(&[0; 16]);
        v
    })
    .chain([u64::MAX.to_le_bytes().to_vec(), 7u64.to_le_bytes().to_vec(), vec![]])
    .collect();
    total += check_all(hostile.into_iter(), &reference);
    assert!(total >= 10_000, "{total} cases");
}
