//! The node binding. It converts types and maps errors; all tracking logic lives in
//! `tracklane-core`. Filled in by the node package issue.

pub use tracklane_core::VERSION;
