//! Snapshot v1: everything the crawler read about an organization's S3 configuration,
//! including what it could not read and why.
//!
//! Every configuration section is a [`Section`]: `present` (with the value), `absent`
//! (AWS said it is not configured), `denied` (AccessDenied) or `error` (anything else).
//! A section that could not be read is never turned into `absent`.

mod load;
mod merge;
mod model;
mod plan;
mod sections;

pub(crate) use load::JsonErrorAt;
pub use load::{LoadError, from_json_str, load_file};
pub use merge::{MergeError, Shard, merge};
pub use model::*;
pub use plan::{NOT_REQUESTED, ReadPlan};
pub use sections::{AnySection, SectionDeclaration, SectionOwner};

/// The snapshot format version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema of the snapshot format, as checked in under `docs/`.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Snapshot);
    serde_json::to_value(schema).expect("a JSON Schema always serializes")
}
