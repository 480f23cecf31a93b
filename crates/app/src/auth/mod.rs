//! Who is asking, and may they: accounts, sessions, API tokens, roles,
//! scopes, CSRF and Origin checks, sign-in throttling and the audit log.
//!
//! Every route declares an [`Access`] next to its handler; the router puts
//! [`authorize`] in front of each one, which finds the [`Principal`]
//! (session cookie, bearer token, trusted proxy header, or the open
//! principal when `auth.enabled` is false on loopback), refuses what its
//! role or scope does not allow, checks CSRF on every change made with a
//! cookie and the Origin of WebSocket upgrades, and hands the principal to
//! the handler. Scoped principals reach only routes that apply the scope
//! ([`Access::Read`]); the handler ANDs [`Scope::filter`] into every flow
//! question, so no route answers beyond it.

pub mod cli;
mod guard;
pub mod limits;
pub mod manage;
pub mod password;
pub mod secret;
pub mod throttle;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use flowlens_store::accounts::UserRow;
use flowlens_store::{Accounts, Filter};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::config::Config;
use limits::{MAX_CONCURRENT_HASHES, MAX_CONCURRENT_LOOKUPS, MAX_SCOPE_ENTRIES};

pub use guard::{authorize, cookie, current, peer, Caller};

/// What an account may do. Ordered: each role has the rights of those
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything in its scope.
    Viewer,
    /// Also manages alert and classification rules.
    Analyst,
    /// Also users, every token, the audit log.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Role, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role `{other}`; one of viewer, analyst, admin")),
        }
    }
}

/// The part of the network an account sees: flows through one of
/// `exporters` (when any are listed) and with an end in one of `networks`
/// (when any are listed). No scope: everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default)]
    pub exporters: Vec<IpAddr>,
    #[serde(default)]
    pub networks: Vec<IpNet>,
}

impl Scope {
    /// `None` for an empty scope (everything), else the scope; refuses
    /// more than [`MAX_SCOPE_ENTRIES`].
    pub fn checked(self) -> Result<Option<Scope>, String> {
        if self.exporters.len() + self.networks.len() > MAX_SCOPE_ENTRIES {
            return Err(format!(
                "a scope holds at most {MAX_SCOPE_ENTRIES} exporters and networks"
            ));
        }
        Ok((!self.exporters.is_empty() || !self.networks.is_empty()).then_some(self))
    }

    /// The stored form: JSON, empty for none.
    pub fn store(s: Option<&Scope>) -> String {
        s.map(|s| serde_json::to_string(s).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Reads the stored form. A stored scope that no longer parses grants
    /// nothing rather than everything.
    pub fn load(text: &str) -> Option<Scope> {
        if text.is_empty() {
            return None;
        }
        Some(serde_json::from_str(text).unwrap_or(Scope {
            exporters: vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)],
            networks: vec![],
        }))
    }

    /// The filter that selects exactly the flows in scope.
    pub fn filter(&self) -> Filter {
        let any = |terms: Vec<String>| -> String {
            if terms.is_empty() {
                String::new()
            } else {
                format!("({})", terms.join(" or "))
            }
        };
        let ex = any(self.exporters.iter().map(|a| format!("exporter {a}")).collect());
        let nets = any(self.networks.iter().map(|n| format!("net {}", n.trunc())).collect());
        let text = match (ex.is_empty(), nets.is_empty()) {
            (false, false) => format!("{ex} and {nets}"),
            (false, true) => ex,
            (true, false) => nets,
            (true, true) => String::new(),
        };
        // Built from addresses and networks only: always parses.
        Filter::parse(&text).unwrap_or_else(|_| Filter::parse("exporter 0.0.0.0").expect("literal"))
    }

    /// Whether the scope includes exporter `a` (a scope of networks only
    /// includes no exporter as a whole).
    pub fn has_exporter(&self, a: IpAddr) -> bool {
        self.exporters.contains(&a)
    }

    /// Whether an advisory about this subject stays inside the scope: a
    /// host or subnet inside its networks (when it names no exporters —
    /// the advisory counts the host's traffic through every exporter), an
    /// exporter or one of its interfaces it names (when it names no
    /// networks). Protocols and top talkers cover everything: never.
    pub fn sees_subject(&self, kind: &str, id: &str) -> bool {
        match kind {
            "host" if self.exporters.is_empty() => id.parse::<IpAddr>().is_ok_and(|ip| self.has_address(ip)),
            "subnet" if self.exporters.is_empty() => id
                .parse::<IpNet>()
                .is_ok_and(|n| self.networks.iter().any(|s| s.contains(&n))),
            "exporter" if self.networks.is_empty() => id.parse::<IpAddr>().is_ok_and(|a| self.has_exporter(a)),
            // `exporter:ifindex:in|out`, the exporter perhaps IPv6.
            "interface" if self.networks.is_empty() => id
                .rsplitn(3, ':')
                .nth(2)
                .and_then(|a| a.parse::<IpAddr>().ok())
                .is_some_and(|a| self.has_exporter(a)),
            _ => false,
        }
    }

    /// Whether `ip` is inside one of the scope's networks (or the scope
    /// lists exporters only).
    pub fn has_address(&self, ip: IpAddr) -> bool {
        self.networks.is_empty() || self.networks.iter().any(|n| n.contains(&ip))
    }
}

/// Extra rights a token can carry besides its user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// `POST /ingest`.
    Ingest,
    /// The Prometheus scrape.
    Metrics,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Ingest => "ingest",
            Permission::Metrics => "metrics",
        }
    }
}

/// How the principal proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A session cookie (CSRF checked on changes).
    Session { digest: String, csrf: String },
    /// A bearer token.
    Token { id: i64, permissions: Vec<Permission> },
    /// `auth.trusted_proxy_header` from a trusted proxy.
    Proxy,
    /// `auth.enabled: false` on loopback: everyone is an admin.
    Open,
    /// A scraper address in `metrics.allow` (the metrics route only).
    Allowed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account's name (`anonymous` when auth is off).
    pub name: String,
    pub user_id: Option<i64>,
    pub role: Role,
    pub scope: Option<Scope>,
    pub via: Via,
    pub source: IpAddr,
}

impl Principal {
    /// Who did it, for the audit log (with the address).
    pub fn by(&self) -> manage::Actor {
        manage::Actor {
            name: self.actor(),
            source: self.source.to_string(),
        }
    }

    /// Who did it, for the audit log.
    pub fn actor(&self) -> String {
        match &self.via {
            Via::Token { id, .. } => format!("{} (token {id})", self.name),
            _ => self.name.clone(),
        }
    }

    /// The scope's filter, when there is a scope.
    pub fn scope_filter(&self) -> Option<Filter> {
        self.scope.as_ref().map(Scope::filter)
    }

    fn has(&self, p: Permission) -> bool {
        match &self.via {
            Via::Token { permissions, .. } => permissions.contains(&p),
            Via::Open => true,
            _ => false,
        }
    }
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, readiness, the sign-in page, static files.
    Public,
    /// Any signed-in account: its own profile, password, tokens; sign-out.
    Account,
    /// Viewers and up; a scoped account too — the handler applies the scope.
    Read,
    /// Viewers and up without a scope: answers about every exporter
    /// (service status, advisories, alert rules and alerts).
    ReadAll,
    /// Analysts and up without a scope: shared rules.
    Write,
    /// Admins without a scope: users, everyone's tokens, the audit log.
    Admin,
    /// A token with the `ingest` permission.
    Ingest,
    /// A token with the `metrics` permission, or an address in
    /// `metrics.allow`.
    Metrics,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Account => "account",
            Access::Read => "read",
            Access::ReadAll => "read-all",
            Access::Write => "write",
            Access::Admin => "admin",
            Access::Ingest => "ingest",
            Access::Metrics => "metrics",
        }
    }

    /// Whether `p` may use a route with this access.
    pub fn allows(self, p: &Principal) -> bool {
        let unscoped = p.scope.is_none();
        match self {
            Access::Public => true,
            Access::Account => !matches!(p.via, Via::Allowed),
            Access::Read => !matches!(p.via, Via::Allowed),
            Access::ReadAll => unscoped && !matches!(p.via, Via::Allowed),
            Access::Write => unscoped && p.role >= Role::Analyst && !matches!(p.via, Via::Allowed),
            Access::Admin => unscoped && p.role == Role::Admin && !matches!(p.via, Via::Allowed),
            Access::Ingest => p.has(Permission::Ingest),
            Access::Metrics => p.has(Permission::Metrics) || matches!(p.via, Via::Allowed),
        }
    }
}

/// The names of the session cookie: `__Host-` (bound to this origin,
/// `Secure`) when TLS is on; browsers refuse that prefix over plain HTTP.
pub const COOKIE_TLS: &str = "__Host-flowlens_session";
pub const COOKIE_PLAIN: &str = "flowlens_session";
/// The header page scripts send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The accounts side of the service: shared by the router's middleware
/// and the account routes.
pub struct Auth {
    pub enabled: bool,
    pub accounts: Arc<Accounts>,
    pub throttle: throttle::Throttle,
    /// Password hashes at once.
    pub hashing: Semaphore,
    /// Account lookups (a request's token or session) at once.
    lookups: Arc<Semaphore>,
    pub tls: bool,
    idle: u64,
    max_age: u64,
    proxy_header: Option<axum::http::HeaderName>,
    trusted_proxies: Vec<IpNet>,
    proxy_role: Role,
    metrics_allow: Vec<IpNet>,
}

impl Auth {
    pub fn new(config: &Config, accounts: Arc<Accounts>) -> Auth {
        let a = &config.auth;
        Auth {
            enabled: a.enabled,
            accounts,
            throttle: throttle::Throttle::default(),
            hashing: Semaphore::new(MAX_CONCURRENT_HASHES),
            lookups: Arc::new(Semaphore::new(MAX_CONCURRENT_LOOKUPS)),
            tls: config.web.tls.is_some(),
            idle: a.session_idle.0.as_secs(),
            max_age: a.session_max.0.as_secs(),
            proxy_header: a
                .trusted_proxy_header
                .as_deref()
                .and_then(|h| axum::http::HeaderName::from_bytes(h.to_ascii_lowercase().as_bytes()).ok()),
            trusted_proxies: a.trusted_proxies.clone(),
            proxy_role: a.proxy_role,
            metrics_allow: config.metrics.allow.clone(),
        }
    }

    pub fn cookie_name(&self) -> &'static str {
        if self.tls {
            COOKIE_TLS
        } else {
            COOKIE_PLAIN
        }
    }

    /// `Set-Cookie` for a new session (`Secure` when the browser came over
    /// HTTPS, here or at a trusted proxy).
    pub fn session_cookie(&self, id: &str, https: bool) -> String {
        let secure = if self.tls || https { "; Secure" } else { "" };
        format!(
            "{}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            self.cookie_name(),
            self.max_age
        )
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear_cookie(&self) -> String {
        let secure = if self.tls { "; Secure" } else { "" };
        format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
            self.cookie_name()
        )
    }

    /// Starts a session for `user`: the id for the cookie.
    pub fn start_session(
        &self,
        user: &UserRow,
        source: IpAddr,
        now: i64,
    ) -> Result<String, flowlens_store::StoreError> {
        let id = secret::random_hex32();
        let csrf = secret::random_hex32();
        self.accounts
            .insert_session(&secret::digest(&id), user.id, &csrf, &source.to_string(), now)?;
        // Expired sessions go whenever a new one starts.
        let _ = self
            .accounts
            .prune_sessions(now - self.max_age as i64, now - self.idle as i64);
        Ok(id)
    }

    /// Records an audit entry (a failure to write is logged).
    pub fn audit(&self, actor: &str, source: &str, action: &str, target: &str, outcome: &str, detail: &str) {
        let by = manage::Actor {
            name: actor.into(),
            source: source.into(),
        };
        manage::audit(&self.accounts, &by, action, target, outcome, detail);
    }
}

#[cfg(test)]
mod tests;
