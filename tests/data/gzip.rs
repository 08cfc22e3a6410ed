//! Gzip input as `zcat` reads it: every member of a multi-member file, and a small file whose
//! IDX header promises less than it inflates to refused without inflating it whole.

use shapeflow::data::{CsvOptions, read_csv, read_idx_images, read_idx_labels};

use super::{gz, images_file, labels_file, tmp, write};

#[test]
fn multi_member_gzip_reads_whole() {
    // `cat a.gz b.gz`: the labels split across two members
    let whole = labels_file(&[1, 2, 3, 4]);
    let mut two = gz(&whole[..9]);
    two.extend(gz(&whole[9..]));
    let p = tmp("two-members-labels.gz");
    write(&p, &two);
    assert_eq!(read_idx_labels(&p).unwrap(), vec![1, 2, 3, 4]);
    // a CSV of three rows in three members
    let mut csv = gz(b"a,b,label\n1,2,0\n");
    csv.extend(gz(b"3,4,1\n"));
    csv.extend(gz(b"5,6,0\n"));
    let p = tmp("three-members.csv.gz");
    write(&p, &csv);
    let ds = read_csv(&p, &CsvOptions::default()).unwrap();
    assert_eq!(ds.len(), 3);
}

#[test]
fn a_decompression_bomb_is_refused_before_it_is_inflated() {
    // a header promising one 2×2 image, then 256 MiB of zeros (a file of about 250 kB)
    let mut big = images_file(1, 2, 2, &[]);
    big.resize(big.len() + (256 << 20), 0);
    let p = tmp("bomb-images.gz");
    write(&p, &gz(&big));
    drop(big);
    let start = std::time::Instant::now();
    let e = read_idx_images(&p).unwrap_err().to_string();
    assert!(
        e.contains("oversized data: the header promises 4 bytes but the file holds more"),
        "{e}"
    );
    // only the header and five bytes were inflated
    assert!(start.elapsed().as_secs_f64() < 1.0, "took {:?}", start.elapsed());
}
