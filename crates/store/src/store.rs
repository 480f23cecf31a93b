//! Opening the data directory: the DuckDB flow database and the SQLite
//! metadata database, created on first use.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::schema;
use crate::StoreError;

/// Where and how flows are stored.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `storage.data_dir`; default `./flowlens-data`.
    pub data_dir: PathBuf,
    /// How often the writer commits what it holds (`storage.flush_interval`,
    /// default 1 s): a flow is queryable at most this long after the writer
    /// accepted it, and a crash loses at most this much.
    pub flush_interval: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            data_dir: PathBuf::from("./flowlens-data"),
            flush_interval: Duration::from_secs(1),
        }
    }
}

pub const FLOWS_FILE: &str = "flows.duckdb";
pub const META_FILE: &str = "meta.sqlite";

/// An open store. `Sync`: share it (`Arc<Store>`) between threads; every
/// query and the writer get their own DuckDB connection to the one database.
pub struct Store {
    config: StoreConfig,
    /// Held only to clone connections from.
    db: std::sync::Mutex<duckdb::Connection>,
    accounts: std::sync::Arc<crate::Accounts>,
}

impl Store {
    /// Users, sessions, tokens and the audit log (`meta.sqlite`).
    pub fn accounts(&self) -> &std::sync::Arc<crate::Accounts> {
        &self.accounts
    }

    pub fn open(config: StoreConfig) -> Result<Store, StoreError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| StoreError::DataDir {
            path: config.data_dir.clone(),
            source: e,
        })?;
        let path = config.data_dir.join(FLOWS_FILE);
        let db = duckdb::Connection::open(&path).map_err(|e| {
            let mut message = e.to_string();
            if message.contains("lock") {
                // DuckDB allows one process per database file.
                message.push_str(
                    " — another flowlens (serve) has this data directory open; ask it through its API, \
                     or stop it first",
                );
            }
            StoreError::Open {
                path: path.clone(),
                message,
            }
        })?;
        db.execute_batch(&schema::flows_ddl())?;
        db.execute_batch(&schema::migrations())?;
        db.execute_batch(&crate::rollup::ddl())?;
        db.execute_batch(crate::retention::ddl())?;
        let accounts = std::sync::Arc::new(crate::Accounts::open(&config.data_dir)?);
        Ok(Store {
            config,
            db: std::sync::Mutex::new(db),
            accounts,
        })
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// Caps the memory DuckDB uses for caches and writes (bytes); queries
    /// that need more spill to the data directory.
    pub fn set_memory_limit(&self, bytes: u64) -> Result<(), StoreError> {
        let c = self.connection()?;
        c.execute_batch(&format!("SET memory_limit = '{}KiB'", bytes / 1_024))?;
        Ok(())
    }

    /// A new connection to the flow database (for a query or the writer).
    pub fn connection(&self) -> Result<duckdb::Connection, StoreError> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        Ok(db.try_clone()?)
    }
}
