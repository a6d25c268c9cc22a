//! The fuzz targets' shared code. `targets` (the bodies) and `seeds` (seed inputs from a
//! conformance corpus) are also compiled into the stable test `core/tests/fuzz_regressions.rs`,
//! so libFuzzer and `test:all` run the same functions.

pub mod seeds;
pub mod targets;
