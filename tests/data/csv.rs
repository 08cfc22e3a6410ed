//! The CSV reader: headers, label and target columns by name, position or last, gzip, and an
//! error naming the line and the column for every bad file.

use shapeflow::data::{Column, CsvOptions, Target, read_csv};

use super::{gz, tmp, write};

const IRIS: &str = "sepal_length,sepal_width,species\n5.1, 3.5,0\n7.0,3.2,1\n6.3,3.3,2\n";

fn read(name: &str, text: &[u8], opts: &CsvOptions) -> shapeflow::Result<shapeflow::data::Dataset> {
    let path = tmp(name);
    write(&path, text);
    read_csv(&path, opts)
}

fn error(name: &str, text: &str, opts: &CsvOptions) -> String {
    read(name, text.as_bytes(), opts).unwrap_err().to_string()
}

#[test]
fn a_csv_file_with_a_header_reads_as_a_classification_dataset() {
    let ds = read("iris.csv", IRIS.as_bytes(), &CsvOptions::default()).unwrap();
    assert_eq!((ds.len(), ds.features(), ds.labels()), (3, 2, &[0, 1, 2][..]));
    assert_eq!(ds.inputs(), &[5.1, 3.5, 7.0, 3.2, 6.3, 3.3]);
    // Gzipped, and the label named and first.
    let text = "species,a,b\n1,0.5,-2\n0,1e-3,4\n";
    let opts =
        CsvOptions { target: Target::Class(Column::Name("species".into())), ..Default::default() };
    let ds = read("named.csv.gz", &gz(text.as_bytes()), &opts).unwrap();
    assert_eq!((ds.labels(), ds.inputs()), (&[1, 0][..], &[0.5, -2.0, 1e-3, 4.0][..]));
}

#[test]
fn a_target_column_and_no_header_read_as_regression() {
    let opts =
        CsvOptions { header: false, delimiter: b';', target: Target::Value(Column::Index(1)) };
    let ds = read("reg.csv", b"1;10.5;2\n3;-1;4\n", &opts).unwrap();
    assert_eq!((ds.target_width(), ds.features(), ds.inputs()), (1, 2, &[1.0, 2.0, 3.0, 4.0][..]));
}

#[test]
fn bad_files_are_errors_that_name_line_and_column() {
    let d = CsvOptions::default();
    let e = error("ragged.csv", "a,b,label\n1,2,0\n3,1\n", &d);
    assert!(e.ends_with("ragged.csv: line 3 has 2 fields but the header has 3"), "{e}");
    let e = error("text.csv", "a,b,label\n1,2,0\n3,abc,1\n", &d);
    assert!(e.ends_with("line 3, column 2 (`b`): `abc` is not a finite number"), "{e}");
    let e = error("nan.csv", "a,b,label\n1,NaN,0\n", &d);
    assert!(e.ends_with("line 2, column 2 (`b`): `NaN` is not a finite number"), "{e}");
    let e = error("label.csv", "a,b,label\n1,2,-1\n", &d);
    assert!(
        e.ends_with("line 2, column 3 (`label`): the class `-1` is not a non-negative integer"),
        "{e}"
    );
    let e = error("setosa.csv", "a,b,label\n1,2,setosa\n", &d);
    assert!(e.contains("the class `setosa` is not a non-negative integer"), "{e}");
    let named =
        CsvOptions { target: Target::Class(Column::Name("class".into())), ..Default::default() };
    let e = error("noname.csv", "a,b,label\n1,2,0\n", &named);
    assert!(e.ends_with("no column `class`; the header has `a`, `b`, `label`"), "{e}");
    let e = error("empty.csv", "a,b,label\n", &d);
    assert!(e.ends_with("empty.csv: no data rows"), "{e}");
    let e = error("one.csv", "label\n0\n", &d);
    assert!(e.contains("a dataset needs at least one feature and a label"), "{e}");
    let e = read("corrupt.csv.gz", &[0x1f, 0x8b, 1, 2, 3], &d).unwrap_err().to_string();
    assert!(e.contains("corrupt gzip data"), "{e}");
    let e = read_csv(tmp("missing.csv"), &d).unwrap_err().to_string();
    assert!(e.contains("missing.csv"), "{e}");
}

#[test]
fn errors_name_the_line_an_editor_shows_and_quote_a_field_briefly() {
    let d = CsvOptions::default();
    // a blank line, then a quoted field spanning two lines: the bad cell is on line 6
    let text = "a,b,label\n1,2,0\n\n\"3\n\",3,1\n4,oops,0\n";
    let e = error("lines.csv", text, &d);
    assert!(e.ends_with("line 6, column 2 (`b`): `oops` is not a finite number"), "{e}");
    // a 5,000-character field is quoted by its first 60 characters and its length
    let long = "z".repeat(5000);
    let e = error("long.csv", &format!("a,b,label\n1,{long},0\n"), &d);
    assert!(e.len() < 200, "{} characters", e.len());
    assert!(
        e.ends_with(&format!("`{}…` (5000 characters) is not a finite number", "z".repeat(60))),
        "{e}"
    );
}
