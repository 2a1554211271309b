//! spool-tests: the integration suites, as one crate.
//!
//! The library half holds what suites share: the backend conformance suite
//! ([`conformance`]), written once and run against every backend, its
//! [`model`], and backend wrappers that inject faults or count calls
//! ([`faulty`]). The test binary in `tests/suite/` runs them.

#![forbid(unsafe_code)]
// Test support: a failed expectation is a test failure, so panicking is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod child;
pub mod conformance;
pub mod faulty;
pub mod model;
pub mod nats;
pub mod simulation;
