//! Accounts in `meta.sqlite`: users, their sessions and API tokens, and
//! the audit log. [`Accounts`] opens only `meta.sqlite`, so `flowlens user`
//! can manage users while `flowlens serve` holds the flow database — and the
//! service sees the change on the next request (nothing is cached).
//!
//! Rows are plain: roles, scopes and permissions are text the application
//! checks; secrets arrive here already hashed (passwords with argon2id,
//! session ids and tokens as SHA-256 digests), never in clear.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use crate::StoreError;

/// The tables, created with the rest of `meta.sqlite` ([`crate::meta::open`]).
pub(crate) const DDL: &str = "
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_unix INTEGER NOT NULL,
    updated_unix INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    csrf TEXT NOT NULL,
    source TEXT NOT NULL,
    created_unix INTEGER NOT NULL,
    last_unix INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_unix INTEGER NOT NULL,
    last_used_unix INTEGER
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_unix INTEGER NOT NULL,
    actor TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL
);";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    /// The PHC string (`$argon2id$v=19$m=…`).
    pub password_hash: String,
    /// JSON the application reads (exporters and networks); empty: none.
    pub scope: String,
    pub created_unix: i64,
    pub updated_unix: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user: UserRow,
    pub csrf: String,
    pub created_unix: i64,
    pub last_unix: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub name: String,
    /// The first characters of the token, to recognise it in a list.
    pub prefix: String,
    /// Comma-separated extra permissions (`ingest`, `metrics`).
    pub permissions: String,
    pub created_unix: i64,
    pub last_used_unix: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditRow {
    pub id: i64,
    pub at_unix: i64,
    /// Who: a user name, `token:<id>`, or `-` before a login.
    pub actor: String,
    /// From where: the peer address (or `cli`).
    pub source: String,
    pub action: String,
    pub target: String,
    /// `ok`, `denied`, `failed`.
    pub outcome: String,
    pub detail: String,
}

/// Which audit entries to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only entries with a smaller id (the next page).
    pub before: Option<i64>,
    pub limit: usize,
    pub actor: Option<String>,
    /// Entries whose action starts with this (`user.`, `login`).
    pub action: Option<String>,
}

pub struct Accounts {
    c: Mutex<Connection>,
}

fn meta(e: rusqlite::Error) -> StoreError {
    StoreError::Meta(e.to_string())
}

const USER_COLS: &str = "u.id, u.name, u.role, u.password_hash, u.scope, u.created_unix, u.updated_unix";

fn user_at(r: &rusqlite::Row, at: usize) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(at)?,
        name: r.get(at + 1)?,
        role: r.get(at + 2)?,
        password_hash: r.get(at + 3)?,
        scope: r.get(at + 4)?,
        created_unix: r.get(at + 5)?,
        updated_unix: r.get(at + 6)?,
    })
}

const TOKEN_COLS: &str = "t.id, t.user_id, u.name, t.name, t.prefix, t.permissions, t.created_unix, t.last_used_unix";

fn token_at(r: &rusqlite::Row) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        user_name: r.get(2)?,
        name: r.get(3)?,
        prefix: r.get(4)?,
        permissions: r.get(5)?,
        created_unix: r.get(6)?,
        last_used_unix: r.get(7)?,
    })
}

impl Accounts {
    /// Opens (creating) `meta.sqlite` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Accounts, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let c = crate::meta::open(&data_dir.join(crate::store::META_FILE))?;
        // Another process (`flowlens user`) may write at the same moment.
        c.busy_timeout(std::time::Duration::from_secs(5)).map_err(meta)?;
        Ok(Accounts { c: Mutex::new(c) })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let mut c = self.c.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut c).map_err(meta)
    }

    pub fn user_count(&self) -> Result<i64, StoreError> {
        self.with(|c| c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)))
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(&format!("SELECT {USER_COLS} FROM users u ORDER BY u.name"))?;
            let rows = st.query_map([], |r| user_at(r, 0))?;
            rows.collect()
        })
    }

    pub fn user(&self, id: i64) -> Result<Option<UserRow>, StoreError> {
        self.with(|c| {
            c.query_row(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?"), [id], |r| {
                user_at(r, 0)
            })
            .optional()
        })
    }

    pub fn user_by_name(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {USER_COLS} FROM users u WHERE u.name = ?"),
                [name],
                |r| user_at(r, 0),
            )
            .optional()
        })
    }

    /// Adds a user; `None` when the name is taken.
    pub fn insert_user(&self, u: &UserRow) -> Result<Option<i64>, StoreError> {
        self.with(|c| {
            let n = c.execute(
                "INSERT INTO users (name, role, password_hash, scope, created_unix, updated_unix)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (name) DO NOTHING",
                params![u.name, u.role, u.password_hash, u.scope, u.created_unix],
            )?;
            Ok((n == 1).then(|| c.last_insert_rowid()))
        })
    }

    /// Writes a user's role, scope and password hash; a new password (or
    /// `end_sessions`) ends every session of the user in the same
    /// transaction. False when there is no such user.
    pub fn update_user(&self, u: &UserRow, end_sessions: bool) -> Result<bool, StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE users SET role = ?2, password_hash = ?3, scope = ?4, updated_unix = ?5 WHERE id = ?1",
                params![u.id, u.role, u.password_hash, u.scope, u.updated_unix],
            )?;
            if end_sessions {
                tx.execute("DELETE FROM sessions WHERE user_id = ?", [u.id])?;
            }
            tx.commit()?;
            Ok(n == 1)
        })
    }

    /// Deletes a user with its sessions and tokens.
    pub fn delete_user(&self, id: i64) -> Result<bool, StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?", [id])?;
            tx.execute("DELETE FROM tokens WHERE user_id = ?", [id])?;
            let n = tx.execute("DELETE FROM users WHERE id = ?", [id])?;
            tx.commit()?;
            Ok(n == 1)
        })
    }

    pub fn insert_session(
        &self,
        digest: &str,
        user_id: i64,
        csrf: &str,
        source: &str,
        now_unix: i64,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO sessions (digest, user_id, csrf, source, created_unix, last_unix)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![digest, user_id, csrf, source, now_unix],
            )
            .map(drop)
        })
    }

    /// The session with this digest and its user.
    pub fn session(&self, digest: &str) -> Result<Option<SessionRow>, StoreError> {
        self.with(|c| {
            c.query_row(
                &format!(
                    "SELECT {USER_COLS}, s.csrf, s.created_unix, s.last_unix FROM sessions s
                     JOIN users u ON u.id = s.user_id WHERE s.digest = ?"
                ),
                [digest],
                |r| {
                    Ok(SessionRow {
                        user: user_at(r, 0)?,
                        csrf: r.get(7)?,
                        created_unix: r.get(8)?,
                        last_unix: r.get(9)?,
                    })
                },
            )
            .optional()
        })
    }

    pub fn touch_session(&self, digest: &str, now_unix: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE sessions SET last_unix = ?2 WHERE digest = ?1",
                params![digest, now_unix],
            )
            .map(drop)
        })
    }

    pub fn delete_session(&self, digest: &str) -> Result<bool, StoreError> {
        self.with(|c| Ok(c.execute("DELETE FROM sessions WHERE digest = ?", [digest])? == 1))
    }

    /// Drops sessions created before `created_before` or idle since
    /// before `idle_before`; how many.
    pub fn prune_sessions(&self, created_before: i64, idle_before: i64) -> Result<usize, StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM sessions WHERE created_unix < ?1 OR last_unix < ?2",
                params![created_before, idle_before],
            )
        })
    }

    /// Sessions per user id (for the user list).
    pub fn session_counts(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare("SELECT user_id, COUNT(*) FROM sessions GROUP BY user_id")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    pub fn insert_token(
        &self,
        user_id: i64,
        name: &str,
        digest: &str,
        prefix: &str,
        permissions: &str,
        now_unix: i64,
    ) -> Result<i64, StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO tokens (user_id, name, digest, prefix, permissions, created_unix)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![user_id, name, digest, prefix, permissions, now_unix],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// The token with this digest and its user.
    pub fn token(&self, digest: &str) -> Result<Option<(TokenRow, UserRow)>, StoreError> {
        self.with(|c| {
            c.query_row(
                &format!(
                    "SELECT {TOKEN_COLS}, {USER_COLS} FROM tokens t JOIN users u ON u.id = t.user_id
                     WHERE t.digest = ?"
                ),
                [digest],
                |r| Ok((token_at(r)?, user_at(r, 8)?)),
            )
            .optional()
        })
    }

    /// Tokens of one user, or of everyone; newest first.
    pub fn tokens(&self, user_id: Option<i64>) -> Result<Vec<TokenRow>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {TOKEN_COLS} FROM tokens t JOIN users u ON u.id = t.user_id
                 WHERE ?1 IS NULL OR t.user_id = ?1 ORDER BY t.id DESC"
            ))?;
            let rows = st.query_map([user_id], token_at)?;
            rows.collect()
        })
    }

    /// Revokes token `id` (of `user_id` when given).
    pub fn delete_token(&self, id: i64, user_id: Option<i64>) -> Result<bool, StoreError> {
        self.with(|c| {
            Ok(c.execute(
                "DELETE FROM tokens WHERE id = ?1 AND (?2 IS NULL OR user_id = ?2)",
                params![id, user_id],
            )? == 1)
        })
    }

    pub fn touch_token(&self, id: i64, now_unix: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE tokens SET last_used_unix = ?2 WHERE id = ?1",
                params![id, now_unix],
            )
            .map(drop)
        })
    }

    /// Appends an entry to the audit log; its id.
    pub fn audit(&self, e: &AuditRow) -> Result<i64, StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO audit (at_unix, actor, source, action, target, outcome, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![e.at_unix, e.actor, e.source, e.action, e.target, e.outcome, e.detail],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// Audit entries, newest first.
    pub fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, at_unix, actor, source, action, target, outcome, detail FROM audit
                 WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR actor = ?2)
                   AND (?3 IS NULL OR substr(action, 1, length(?3)) = ?3)
                 ORDER BY id DESC LIMIT ?4",
            )?;
            let rows = st.query_map(params![q.before, q.actor, q.action, q.limit as i64], |r| {
                Ok(AuditRow {
                    id: r.get(0)?,
                    at_unix: r.get(1)?,
                    actor: r.get(2)?,
                    source: r.get(3)?,
                    action: r.get(4)?,
                    target: r.get(5)?,
                    outcome: r.get(6)?,
                    detail: r.get(7)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Keeps the `keep` newest audit entries; how many went.
    pub fn prune_audit(&self, keep: usize) -> Result<usize, StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM audit WHERE id <= (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?)",
                [keep as i64],
            )
        })
    }
}
