//! The model's shape contracts, pinned: every file in `tests/contracts/` must fail to compile
//! with the message in its `.stderr`, and every file in `tests/contracts/pass/` must compile and
//! run. After changing the model, refresh with `TRYBUILD=overwrite cargo test -p shape-contracts`
//! and read every changed message as your users will.

#[test]
fn contracts() {
    let t = trybuild::TestCases::new();
    t.pass("tests/contracts/pass/*.rs");
    t.compile_fail("tests/contracts/*.rs");
}
