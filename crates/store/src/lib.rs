//! The flow store: DuckDB for flows and rollups, SQLite for metadata, the
//! filter language, and the query engine. Only this crate touches the data
//! directory.

pub mod accounts;
pub mod filter;
pub mod flow;
pub mod ips;
pub mod limits;
pub mod meta;
pub mod plan;
pub mod query;
pub mod retention;
pub mod rollup;
pub mod schema;
pub mod store;
pub mod writer;

use std::path::PathBuf;

pub use accounts::Accounts;
pub use filter::{Filter, FilterError};
pub use flow::{Class, Flow};
pub use store::{Store, StoreConfig};
pub use writer::Writer;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data directory {path}: {source} (set storage.data_dir to a writable place)")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("cannot open {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("flow database: {0}")]
    Db(#[from] duckdb::Error),
    #[error("metadata database: {0}")]
    Meta(String),
    #[error("writer: {0}")]
    Writer(String),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("{0}")]
    Query(String),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::DataDir { .. } => "data_dir",
            StoreError::Open { .. } => "store_open",
            StoreError::Db(_) => "store_db",
            StoreError::Meta(_) => "store_meta",
            StoreError::Writer(_) => "store_writer",
            StoreError::Filter(e) => e.code(),
            StoreError::Query(_) => "query",
        }
    }
}

#[cfg(test)]
mod tests;
