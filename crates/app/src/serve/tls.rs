//! HTTPS: rustls (the ring provider, as the webhook client) in front of the
//! same router, a certificate that is reloaded when its files change, and
//! the plain-HTTP listeners that only redirect to HTTPS.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::watch;

use crate::api::limits::TLS_HANDSHAKE_TIMEOUT;
use crate::config::Tls;

/// Reads a PEM chain and key into a key rustls can serve; the message
/// names the file and what to do.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("web.tls.cert: cannot read {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("web.tls.cert: {} is not a PEM certificate chain: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "web.tls.cert: {} holds no certificate (expected -----BEGIN CERTIFICATE-----)",
            cert.display()
        ));
    }
    let der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        format!(
            "web.tls.key: {} holds no usable private key (PKCS#8, PKCS#1 or SEC1 PEM): {e}",
            key.display()
        )
    })?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(der)
        .map_err(|e| format!("web.tls.key: {}: {e}", key.display()))?;
    let ck = CertifiedKey::new(chain, signing);
    ck.keys_match().map_err(|e| {
        format!(
            "web.tls: the key in {} does not belong to the certificate in {}: {e}",
            key.display(),
            cert.display()
        )
    })?;
    Ok(Arc::new(ck))
}

/// The certificate being served, swapped whole on a reload.
#[derive(Debug)]
pub struct Certs {
    current: RwLock<Arc<CertifiedKey>>,
    /// Reloads done and failed (for the status).
    pub reloads: std::sync::atomic::AtomicU64,
    pub reload_errors: std::sync::atomic::AtomicU64,
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// What identifies a version of a file without reading it.
fn stamp(p: &Path) -> Option<(u64, i64, i64, u64)> {
    let m = std::fs::metadata(p).ok()?;
    Some((m.ino(), m.mtime(), m.mtime_nsec(), m.size()))
}

pub struct Server {
    pub certs: Arc<Certs>,
    pub acceptor: tokio_rustls::TlsAcceptor,
    files: (PathBuf, PathBuf),
    every: Duration,
}

impl Server {
    pub fn new(t: &Tls) -> Result<Server, String> {
        let key = load(&t.cert, &t.key)?;
        let certs = Arc::new(Certs {
            current: RwLock::new(key),
            reloads: Default::default(),
            reload_errors: Default::default(),
        });
        let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("web.tls: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(certs.clone());
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Server {
            certs,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(cfg)),
            files: (t.cert.clone(), t.key.clone()),
            every: t.reload_check.0,
        })
    }

    /// Checks the files every `reload_check` and swaps in a changed pair;
    /// a broken new version is logged and the old certificate kept.
    pub async fn watch(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let (cert, key) = self.files.clone();
        let mut last = (stamp(&cert), stamp(&key));
        let mut failed = None;
        loop {
            tokio::select! {
                _ = async { let _ = stop.wait_for(|s| *s).await; } => return,
                _ = tokio::time::sleep(self.every) => {}
            }
            let now = (stamp(&cert), stamp(&key));
            if now == last || Some(now) == failed {
                continue;
            }
            let (c, k) = (cert.clone(), key.clone());
            match tokio::task::spawn_blocking(move || load(&c, &k)).await {
                Ok(Ok(ck)) => {
                    *self.certs.current.write().unwrap_or_else(|p| p.into_inner()) = ck;
                    self.certs.reloads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::info!(cert = %cert.display(), "TLS certificate reloaded");
                    last = now;
                    failed = None;
                }
                Ok(Err(e)) => {
                    self.certs
                        .reload_errors
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(error = %e, "the changed TLS files were not loaded; still serving the previous certificate");
                    failed = Some(now);
                }
                Err(_) => {}
            }
        }
    }

    /// Accepts TLS connections until `stop`, each served by `app` with the
    /// peer's address; a handshake that takes too long is dropped.
    pub async fn serve(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        app: Router,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let (tcp, peer) = tokio::select! {
                _ = async { let _ = stop.wait_for(|s| *s).await; } => return,
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of descriptors and the like: wait, don't spin.
                        tracing::warn!(error = %e, "accepting an HTTPS connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let acceptor = self.acceptor.clone();
            let app = app.clone();
            let mut stop = stop.clone();
            tokio::spawn(async move {
                let Ok(Ok(tls)) = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
                    return;
                };
                let app = app.layer(axum::Extension(ConnectInfo(peer)));
                let svc = TowerToHyperService::new(app.into_service());
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .with_upgrades();
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                        conn.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                    }
                }
            });
        }
    }
}

/// The router of a `web.redirect_http` listener: every request answered
/// with a permanent redirect to the same path over HTTPS on `https_port`.
pub fn redirect_router(https_port: u16) -> Router {
    Router::new().fallback(move |uri: Uri, headers: axum::http::HeaderMap| async move {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<axum::http::uri::Authority>().ok());
        let Some(host) = host else {
            return (StatusCode::BAD_REQUEST, "HTTPS only; send a Host header\n").into_response();
        };
        let port = if https_port == 443 {
            String::new()
        } else {
            format!(":{https_port}")
        };
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let to = format!("https://{}{port}{path}", host.host());
        let mut r: Response = StatusCode::PERMANENT_REDIRECT.into_response();
        if let Ok(v) = header::HeaderValue::from_str(&to) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r
    })
}
