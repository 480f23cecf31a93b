//! The `auth` section and the TLS part of `web`: who may use the console
//! and the API, and how they reach it.

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::units::Dur;
use crate::auth::Role;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Auth {
    /// Accounts and sign-in. Off only with every `web.listen` on loopback,
    /// or behind a proxy that authenticates (`trusted_proxy_header`).
    pub enabled: bool,
    /// A session ends after this long without a request…
    pub session_idle: Dur,
    /// …and this long after sign-in whatever happens.
    pub session_max: Dur,
    /// With `enabled: false`: the header an authenticating reverse proxy
    /// puts the user name in (e.g. `Remote-User`).
    pub trusted_proxy_header: Option<String>,
    /// The proxies whose headers are believed: the user header above, and
    /// `X-Forwarded-Proto`/`X-Forwarded-Host` (a proxy that terminates
    /// TLS), which the Origin check and the cookie's `Secure` follow.
    pub trusted_proxies: Vec<IpNet>,
    /// The role of a proxy user without a local account.
    pub proxy_role: Role,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            enabled: true,
            session_idle: Dur::secs(12 * 3_600),
            session_max: Dur::secs(7 * 86_400),
            trusted_proxy_header: None,
            trusted_proxies: vec![
                "127.0.0.0/8".parse().expect("literal"),
                "::1/128".parse().expect("literal"),
            ],
            proxy_role: Role::Viewer,
        }
    }
}

/// HTTPS for every `web.listen` listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// How often the files are checked for a change (then reloaded).
    #[serde(default = "Tls::default_reload")]
    pub reload_check: Dur,
}

impl Tls {
    fn default_reload() -> Dur {
        Dur::secs(30)
    }
}

/// Plain-HTTP listeners that only redirect to the HTTPS ones.
pub type Redirects = Vec<SocketAddr>;
