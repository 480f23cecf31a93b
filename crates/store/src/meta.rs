//! Metadata in SQLite (`meta.sqlite` beside the flows): small,
//! transactional things — names, rules, documents, and the accounts of
//! [`crate::accounts`].
//! Opening it creates the file and records the schema version.

use std::path::Path;

use crate::StoreError;

/// Schema version of `meta.sqlite`; migrations key off it.
pub const META_SCHEMA_VERSION: i64 = 1;

pub fn open(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let c = rusqlite::Connection::open(path).map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
    c.pragma_update(None, "journal_mode", "WAL").map_err(meta)?;
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
         INSERT INTO schema_version (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
         CREATE TABLE IF NOT EXISTS exporter_names (
             address TEXT PRIMARY KEY,
             name TEXT NOT NULL,
             source TEXT NOT NULL,
             updated_unix INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS interface_names (
             exporter TEXT NOT NULL,
             if_index INTEGER NOT NULL,
             name TEXT,
             description TEXT,
             updated_unix INTEGER NOT NULL,
             PRIMARY KEY (exporter, if_index)
         );
         CREATE TABLE IF NOT EXISTS classification_rules (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             cidr TEXT NOT NULL,
             name TEXT,
             environment TEXT,
             datacenter TEXT,
             location TEXT,
             internal INTEGER,
             priority INTEGER NOT NULL,
             updated_unix INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS documents (
             kind TEXT NOT NULL,
             id INTEGER NOT NULL,
             body TEXT NOT NULL,
             updated_unix INTEGER NOT NULL,
             PRIMARY KEY (kind, id)
         );",
    )
    .map_err(meta)?;
    c.execute_batch(crate::accounts::DDL).map_err(meta)?;
    let v: i64 = c
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .map_err(meta)?;
    if v > META_SCHEMA_VERSION {
        return Err(StoreError::Meta(format!(
            "{} has schema version {v}, newer than this flowlens understands ({META_SCHEMA_VERSION}); \
             run a newer flowlens or point storage.data_dir elsewhere",
            path.display()
        )));
    }
    Ok(c)
}

/// Longest exporter name kept.
pub const MAX_EXPORTER_NAME: usize = 128;

/// A classification rule as `meta.sqlite` keeps it (checked by the
/// application before it is stored).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleRow {
    pub id: i64,
    pub cidr: String,
    pub name: Option<String>,
    pub environment: Option<String>,
    pub datacenter: Option<String>,
    pub location: Option<String>,
    pub internal: Option<bool>,
    pub priority: i64,
    pub updated_unix: i64,
}

impl crate::Store {
    /// Records what exporters say their interfaces are called, in one
    /// transaction.
    pub fn set_interface_names(
        &self,
        rows: &[(std::net::IpAddr, u32, Option<String>, Option<String>)],
        now_unix: i64,
    ) -> Result<(), StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let mut c = self.meta()?;
        let tx = c.transaction().map_err(meta)?;
        for (a, i, n, d) in rows {
            tx.execute(
                "INSERT INTO interface_names (exporter, if_index, name, description, updated_unix) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT (exporter, if_index) DO UPDATE SET \
                 name = excluded.name, description = excluded.description, updated_unix = excluded.updated_unix",
                rusqlite::params![a.to_string(), i, n, d, now_unix],
            )
            .map_err(meta)?;
        }
        tx.commit().map_err(meta)
    }

    /// Every learned interface: (exporter, ifIndex, name, description).
    #[allow(clippy::type_complexity)]
    pub fn interface_names(&self) -> Result<Vec<(std::net::IpAddr, u32, Option<String>, Option<String>)>, StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let c = self.meta()?;
        let mut st = c
            .prepare("SELECT exporter, if_index, name, description FROM interface_names")
            .map_err(meta)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(meta)?;
        let mut out = Vec::new();
        for r in rows {
            let (a, i, n, d) = r.map_err(meta)?;
            if let Ok(a) = a.parse() {
                out.push((a, i, n, d));
            }
        }
        Ok(out)
    }

    /// Every stored classification rule, by id.
    pub fn rules(&self) -> Result<Vec<RuleRow>, StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let c = self.meta()?;
        let mut st = c
            .prepare(
                "SELECT id, cidr, name, environment, datacenter, location, internal, priority, updated_unix \
                 FROM classification_rules ORDER BY id",
            )
            .map_err(meta)?;
        let rows = st
            .query_map([], |r| {
                Ok(RuleRow {
                    id: r.get(0)?,
                    cidr: r.get(1)?,
                    name: r.get(2)?,
                    environment: r.get(3)?,
                    datacenter: r.get(4)?,
                    location: r.get(5)?,
                    internal: r.get::<_, Option<i64>>(6)?.map(|v| v != 0),
                    priority: r.get(7)?,
                    updated_unix: r.get(8)?,
                })
            })
            .map_err(meta)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(meta)
    }

    /// Stores a new rule (its `id` is ignored) and returns its id.
    pub fn insert_rule(&self, r: &RuleRow) -> Result<i64, StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let c = self.meta()?;
        c.execute(
            "INSERT INTO classification_rules (cidr, name, environment, datacenter, location, internal, priority, \
             updated_unix) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rusqlite::params![
                r.cidr,
                r.name,
                r.environment,
                r.datacenter,
                r.location,
                r.internal.map(i64::from),
                r.priority,
                r.updated_unix
            ],
        )
        .map_err(meta)?;
        Ok(c.last_insert_rowid())
    }

    /// Replaces rule `r.id`; false when there is no such rule.
    pub fn update_rule(&self, r: &RuleRow) -> Result<bool, StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let n = self
            .meta()?
            .execute(
                "UPDATE classification_rules SET cidr = ?, name = ?, environment = ?, datacenter = ?, location = ?, \
                 internal = ?, priority = ?, updated_unix = ? WHERE id = ?",
                rusqlite::params![
                    r.cidr,
                    r.name,
                    r.environment,
                    r.datacenter,
                    r.location,
                    r.internal.map(i64::from),
                    r.priority,
                    r.updated_unix,
                    r.id
                ],
            )
            .map_err(meta)?;
        Ok(n == 1)
    }

    /// Deletes rule `id`; false when there is no such rule.
    pub fn delete_rule(&self, id: i64) -> Result<bool, StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let n = self
            .meta()?
            .execute("DELETE FROM classification_rules WHERE id = ?", [id])
            .map_err(meta)?;
        Ok(n == 1)
    }

    /// A connection to `meta.sqlite`.
    pub fn meta(&self) -> Result<rusqlite::Connection, StoreError> {
        open(&self.data_dir().join(crate::store::META_FILE))
    }

    /// Records names for exporter addresses (`source` says who named them:
    /// "ingest", later "snmp" or "config"), in one transaction.
    pub fn set_exporter_names(
        &self,
        names: &[(std::net::IpAddr, String)],
        source: &str,
        now_unix: i64,
    ) -> Result<(), StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let mut c = self.meta()?;
        let tx = c.transaction().map_err(meta)?;
        for (addr, name) in names {
            let name: String = name.chars().take(MAX_EXPORTER_NAME).collect();
            tx.execute(
                "INSERT INTO exporter_names (address, name, source, updated_unix) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (address) DO UPDATE SET name = ?2, source = ?3, updated_unix = ?4",
                rusqlite::params![addr.to_string(), name, source, now_unix],
            )
            .map_err(meta)?;
        }
        tx.commit().map_err(meta)
    }

    /// Every named exporter: (address, name).
    pub fn exporter_names(&self) -> Result<Vec<(std::net::IpAddr, String)>, StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let c = self.meta()?;
        let mut st = c
            .prepare("SELECT address, name FROM exporter_names ORDER BY address")
            .map_err(meta)?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(meta)?;
        let mut out = Vec::new();
        for r in rows {
            let (a, n) = r.map_err(meta)?;
            if let Ok(a) = a.parse() {
                out.push((a, n));
            }
        }
        Ok(out)
    }

    /// Documents of one kind (alert rules, alerts, advisories: JSON the
    /// application checks), newest id first, at most `limit`.
    pub fn docs(&self, kind: &str, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let c = self.meta()?;
        let mut st = c
            .prepare("SELECT id, body FROM documents WHERE kind = ?1 ORDER BY id DESC LIMIT ?2")
            .map_err(meta)?;
        let rows = st
            .query_map(rusqlite::params![kind, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(meta)?;
        rows.collect::<Result<_, _>>().map_err(meta)
    }

    /// Adds a document under the next id of its kind.
    pub fn insert_doc(&self, kind: &str, body: &str, now_unix: i64) -> Result<i64, StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let mut c = self.meta()?;
        let tx = c.transaction().map_err(meta)?;
        let id: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(id), 0) + 1 FROM documents WHERE kind = ?1",
                [kind],
                |r| r.get(0),
            )
            .map_err(meta)?;
        tx.execute(
            "INSERT INTO documents (kind, id, body, updated_unix) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![kind, id, body, now_unix],
        )
        .map_err(meta)?;
        tx.commit().map_err(meta)?;
        Ok(id)
    }

    /// Writes document `id` (creating it when `create`); false when it does
    /// not exist and may not be created.
    pub fn put_doc(&self, kind: &str, id: i64, body: &str, now_unix: i64, create: bool) -> Result<bool, StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let c = self.meta()?;
        let n = if create {
            c.execute(
                "INSERT INTO documents (kind, id, body, updated_unix) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, id) DO UPDATE SET body = ?3, updated_unix = ?4",
                rusqlite::params![kind, id, body, now_unix],
            )
        } else {
            c.execute(
                "UPDATE documents SET body = ?3, updated_unix = ?4 WHERE kind = ?1 AND id = ?2",
                rusqlite::params![kind, id, body, now_unix],
            )
        }
        .map_err(meta)?;
        Ok(n == 1)
    }

    /// Deletes document `id`; false when there is none.
    pub fn delete_doc(&self, kind: &str, id: i64) -> Result<bool, StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let n = self
            .meta()?
            .execute(
                "DELETE FROM documents WHERE kind = ?1 AND id = ?2",
                rusqlite::params![kind, id],
            )
            .map_err(meta)?;
        Ok(n == 1)
    }

    /// Keeps the `keep` newest documents of a kind.
    pub fn prune_docs(&self, kind: &str, keep: usize) -> Result<usize, StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        self.meta()?
            .execute(
                "DELETE FROM documents WHERE kind = ?1 AND id NOT IN
                 (SELECT id FROM documents WHERE kind = ?1 ORDER BY id DESC LIMIT ?2)",
                rusqlite::params![kind, keep as i64],
            )
            .map_err(meta)
    }
}
