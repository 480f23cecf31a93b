//! `flowlens serve`: listeners → decode workers → sinks (store writer, live
//! feed), the HTTP side, housekeeping (rates, retention), and an orderly
//! stop that drains every queue and accounts for every flow.
//!
//! Threads, not tasks, on the hot path: one per receive socket, one per
//! decode worker, the store writer. Tokio runs only HTTP.

pub mod dedup;
pub mod http;
pub mod ingest;
pub mod listen;
pub mod pipeline;
pub mod status;
pub mod telemetry;
pub mod tls;

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flowlens_store::{Store, StoreConfig, Writer};
use flowlens_wire::{DecoderLimits, Timestamp};
use socket2::{Domain, Socket, Type};
use tokio::sync::{broadcast, watch};

use crate::config::Config;
use dedup::Dedup;
use http::AppState;
use pipeline::{Sinks, Worker};
use status::{Rates, StatusSource};
use telemetry::Accounting;

/// Batches the live feed keeps for slow subscribers before they lag (and
/// are closed). The ring is the feed's whole memory, shared by every
/// client: 32 pipeline batches are about 1.5 s at 50,000 flows/s and at
/// most 32 × `pipeline.batch_flows` flows (256 held 670 MiB under 200
/// clients).
pub const LIVE_FEED_BATCHES: usize = 32;
/// Longest an orderly stop waits for HTTP requests in flight.
pub const HTTP_DRAIN: Duration = Duration::from_secs(3);

/// The wall clock as a flow timestamp, read at the edges (receive, the
/// commands); libraries below take time as a parameter.
pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(d.as_nanos().min(i64::MAX as u128) as i64)
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] flowlens_store::StoreError),
    #[error("cannot listen on {what} {addr}: {source} — {hint}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
        hint: String,
    },
    #[error("{0}")]
    Start(String),
}

/// A running service.
pub struct Service {
    state: Option<Arc<AppState>>,
    writer: Option<Arc<Writer>>,
    stop: Arc<AtomicBool>,
    receivers: Vec<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
    housekeeping: Option<JoinHandle<()>>,
    analysis: Option<JoinHandle<()>>,
    runtime: Option<tokio::runtime::Runtime>,
    http_stop: watch::Sender<bool>,
    http: Vec<tokio::task::JoinHandle<()>>,
    udp_addrs: Vec<SocketAddr>,
    http_addrs: Vec<SocketAddr>,
}

impl Service {
    pub fn start(mut config: Config) -> Result<Service, ServeError> {
        let store = Arc::new(Store::open(StoreConfig {
            data_dir: config.storage.data_dir.clone(),
            flush_interval: config.storage.flush_interval.0,
        })?);
        store.set_memory_limit(config.storage.memory_limit.0)?;
        let interfaces = Arc::new(crate::enrich::Interfaces::new(
            &config.exporters,
            &config.interface_rules,
        ));
        interfaces.load(&store)?;
        let configured = interfaces.configured_exporter_names();
        if !configured.is_empty() {
            store.set_exporter_names(&configured, "config", now().as_millis() / 1_000)?;
        }
        // A required database that cannot be read stops the start here,
        // naming the key and the file.
        let geo = Arc::new(crate::enrich::GeoIp::open(&config.enrichment.geoip).map_err(|e| {
            ServeError::Start(format!(
                "{e} (or set enrichment.geoip.required to false to start without it)"
            ))
        })?);
        let writer = Arc::new(Writer::start(&store)?);
        let workers_n = config.pipeline.decode_workers;
        let telemetry = Arc::new(telemetry::Telemetry::new(config.collector.listeners.len(), workers_n));

        // Bind everything before starting anything: a port in use is an
        // error at start, not a silent gap.
        let mut bound = Vec::new();
        let mut capped_buffers = Vec::new();
        for (i, l) in config.collector.listeners.iter().enumerate() {
            let b = match listen::bind(l) {
                Ok(b) => b,
                Err(e) if no_ipv6(l.addr(), &e) => {
                    tracing::warn!(listener = %l.addr(), "no IPv6 on this machine; listening on IPv4 only");
                    capped_buffers.push(None);
                    continue;
                }
                Err(e) => {
                    return Err(ServeError::Bind {
                        what: "udp",
                        addr: l.addr(),
                        hint: bind_hint(&e, &format!("collector.listeners[{i}]")),
                        source: e,
                    })
                }
            };
            if let Some(got) = b.capped_buffer {
                tracing::warn!(
                    listener = %l.addr(),
                    asked = l.receive_buffer.0,
                    granted = got,
                    "the kernel capped the receive buffer; raise it with: sysctl -w net.core.rmem_max={}",
                    l.receive_buffer.0
                );
            }
            capped_buffers.push(b.capped_buffer);
            bound.push((i, b.sockets));
        }
        // A port of 0 is the kernel's choice: the status and the console
        // show the port actually bound.
        for (i, sockets) in &bound {
            if let Some(Ok(a)) = sockets.first().map(|s| s.local_addr()) {
                config.collector.listeners[*i].port = a.port();
            }
        }
        let mut http_listeners = Vec::new();
        for addr in &config.web.listen {
            match bind_tcp(*addr) {
                Ok(l) => http_listeners.push(l),
                Err(e) if no_ipv6(*addr, &e) => {
                    tracing::warn!(listener = %addr, "no IPv6 on this machine; HTTP on IPv4 only");
                }
                Err(e) => {
                    return Err(ServeError::Bind {
                        what: "http",
                        addr: *addr,
                        hint: bind_hint(&e, "web.listen"),
                        source: e,
                    })
                }
            }
        }
        config.web.listen = http_listeners.iter().filter_map(|l| l.local_addr().ok()).collect();
        let mut redirect_listeners = Vec::new();
        for addr in &config.web.redirect_http {
            let l = bind_tcp(*addr).map_err(|e| ServeError::Bind {
                what: "http redirect",
                addr: *addr,
                hint: bind_hint(&e, "web.redirect_http"),
                source: e,
            })?;
            redirect_listeners.push(l);
        }
        config.web.redirect_http = redirect_listeners.iter().filter_map(|l| l.local_addr().ok()).collect();
        let tls = match &config.web.tls {
            Some(t) => Some(Arc::new(tls::Server::new(t).map_err(ServeError::Start)?)),
            None => None,
        };
        if config.auth.enabled {
            match crate::auth::manage::first_admin(store.accounts()) {
                Ok(Some(pw)) => first_admin_banner(&pw, &config),
                Ok(None) => {}
                Err(e) => return Err(ServeError::Start(format!("cannot create the first admin account: {e}"))),
            }
        } else if config.auth.trusted_proxy_header.is_none() {
            tracing::info!("auth.enabled is false: anyone who can reach the loopback listeners has full access");
        }
        crate::auth::manage::record_config(&store, &crate::config::settings(&config));

        let (live, _) = broadcast::channel(LIVE_FEED_BATCHES);
        let analysis = Arc::new(crate::analysis::Engine::new(
            &config,
            Some(store.clone()),
            Box::new(crate::analysis::InterfaceLabels(interfaces.clone())),
        ));
        match analysis.reload_rules() {
            Ok(0) => {}
            Ok(n) => tracing::info!(rules = n, "alert rules loaded"),
            Err(e) => tracing::warn!(error = %e, "alert rules could not be read from meta.sqlite; none are active"),
        }
        let sinks = Sinks {
            writer: writer.clone(),
            live,
            dedup: config.pipeline.dedup.enabled.then(|| {
                Arc::new(Dedup::new(
                    config.pipeline.dedup.ttl.0,
                    config.pipeline.dedup.max_entries,
                ))
            }),
            telemetry: telemetry.clone(),
            enrich: Arc::new(crate::enrich::EnrichSetup::new(
                geo.clone(),
                Arc::new(crate::enrich::Classifier::open(&config.classification.rules, &store)?),
                interfaces.clone(),
                &config.enrichment,
            )),
            traffic: crate::metrics::traffic(&config),
            analysis: analysis.clone(),
        };
        let limits = DecoderLimits {
            max_exporters: std::num::NonZeroUsize::new(config.limits.max_exporters)
                .ok_or_else(|| ServeError::Start("limits.max_exporters must be at least 1".into()))?,
            max_templates_per_exporter: std::num::NonZeroUsize::new(config.limits.max_templates_per_exporter)
                .ok_or_else(|| ServeError::Start("limits.max_templates_per_exporter must be at least 1".into()))?,
        };
        let mut senders = Vec::new();
        let mut workers = Vec::new();
        for index in 0..workers_n {
            let (tx, rx) = sync_channel(config.pipeline.decode_queue);
            senders.push(tx);
            let w = Worker {
                index,
                rx,
                sinks: sinks.clone(),
                batch_flows: config.pipeline.batch_flows,
                batch_delay: config.pipeline.batch_delay.0,
                limits,
            };
            workers.push(spawn(&format!("flowlens-decode-{index}"), move || w.run())?);
        }

        let stop = Arc::new(AtomicBool::new(false));
        let allow = Arc::new(config.collector.allow_exporters.clone());
        let mut receivers = Vec::new();
        let mut status_sockets = Vec::new();
        let mut udp_addrs = Vec::new();
        for (i, sockets) in bound {
            let l = &config.collector.listeners[i];
            for (k, socket) in sockets.into_iter().enumerate() {
                if let Ok(a) = socket.local_addr() {
                    if k == 0 {
                        udp_addrs.push(a);
                    }
                }
                if let Ok(c) = socket.try_clone() {
                    status_sockets.push((i, c));
                }
                let r = listen::Receiver {
                    socket,
                    listener: i,
                    protocol: l.protocol,
                    allow: allow.clone(),
                    workers: senders.clone(),
                    telemetry: telemetry.clone(),
                    stop: stop.clone(),
                };
                receivers.push(spawn(&format!("flowlens-recv-{i}.{k}"), move || r.run())?);
            }
        }
        drop(senders);

        let state = Arc::new(AppState::new(
            StatusSource {
                config: config.clone(),
                telemetry: telemetry.clone(),
                writer: writer.stats().clone(),
                rates: Rates::default(),
                sockets: status_sockets,
                capped_buffers,
            },
            sinks,
            store.clone(),
        ));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("flowlens-http")
            .enable_all()
            .build()
            .map_err(|e| ServeError::Start(format!("cannot start the HTTP runtime: {e}")))?;
        let (http_stop, stop_rx) = watch::channel(false);
        let mut http = Vec::new();
        let mut http_addrs = Vec::new();
        let https_port = http_listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map_or(443, |a| a.port());
        if let Some(t) = &tls {
            let _guard = runtime.enter();
            http.push(runtime.spawn(t.clone().watch(stop_rx.clone())));
        }
        for l in http_listeners {
            http_addrs.extend(l.local_addr().ok());
            let app = http::router(state.clone());
            let mut stop_rx = stop_rx.clone();
            let _guard = runtime.enter();
            let listener = tokio::net::TcpListener::from_std(l)
                .map_err(|e| ServeError::Start(format!("cannot serve HTTP: {e}")))?;
            if let Some(t) = &tls {
                http.push(runtime.spawn(t.clone().serve(listener, app, stop_rx)));
                continue;
            }
            http.push(runtime.spawn(async move {
                let shutdown = async move {
                    let _ = stop_rx.wait_for(|s| *s).await;
                };
                let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
                if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                    tracing::error!(error = %e, "HTTP server failed");
                }
            }));
        }
        for l in redirect_listeners {
            let mut stop_rx = stop_rx.clone();
            let _guard = runtime.enter();
            let listener = tokio::net::TcpListener::from_std(l)
                .map_err(|e| ServeError::Start(format!("cannot serve HTTP: {e}")))?;
            let app = crate::console::security_headers(tls::redirect_router(https_port));
            http.push(runtime.spawn(async move {
                let shutdown = async move {
                    let _ = stop_rx.wait_for(|s| *s).await;
                };
                if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                    tracing::error!(error = %e, "HTTP redirect server failed");
                }
            }));
        }

        let hk_state = state.clone();
        let hk_stop = stop.clone();
        let hk_store = store.clone();
        let retention = flowlens_store::retention::Retention {
            raw: config.storage.retention.raw.0,
            rollup_1m: config.storage.retention.rollup_1m.0,
            rollup_5m: config.storage.retention.rollup_5m.0,
            rollup_1h: config.storage.retention.rollup_1h.0,
            max_disk_bytes: config.storage.max_disk_bytes.map(|b| b.0),
        };
        let every = config.storage.retention_interval.0;
        let geo_every = config.enrichment.geoip.reload_check.0;
        let hk_interfaces = interfaces.clone();
        let housekeeping = spawn("flowlens-housekeeping", move || {
            let mut next_retention = Instant::now() + Duration::from_secs(10).min(every);
            let mut next_geo = Instant::now() + geo_every;
            while !hk_stop.load(Ordering::Relaxed) {
                hk_state.status.rates.tick(&hk_state.status.telemetry);
                hk_interfaces.save(&hk_store, now().as_millis() / 1_000);
                if geo.watching() && Instant::now() >= next_geo {
                    if geo.check_reload() {
                        tracing::info!("GeoIP databases reloaded; new flows use them");
                    }
                    next_geo = Instant::now() + geo_every;
                }
                if Instant::now() >= next_retention {
                    match hk_store.retention_once(now(), &retention) {
                        Ok(r) => {
                            tracing::debug!(deleted = ?r.deleted, budget_slices = r.budget_slices, used_bytes = r.used_bytes, "retention")
                        }
                        Err(e) => tracing::warn!(error = %e, "retention failed; trying again next interval"),
                    }
                    next_retention = Instant::now() + every;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })?;

        let analysis = analysis
            .spawn(stop.clone())
            .map_err(|e| ServeError::Start(format!("cannot start the analysis thread: {e}")))?;
        state.ready.store(true, Ordering::Relaxed);
        Ok(Service {
            state: Some(state),
            writer: Some(writer),
            stop,
            receivers,
            workers,
            housekeeping: Some(housekeeping),
            analysis: Some(analysis),
            runtime: Some(runtime),
            http_stop,
            http,
            udp_addrs,
            http_addrs,
        })
    }

    /// The UDP addresses bound (first socket of each listener).
    pub fn udp_addrs(&self) -> &[SocketAddr] {
        &self.udp_addrs
    }

    pub fn http_addrs(&self) -> &[SocketAddr] {
        &self.http_addrs
    }

    /// Waits for SIGINT or SIGTERM.
    pub fn wait_for_signal(&self) {
        let Some(rt) = &self.runtime else { return };
        rt.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                match signal(SignalKind::terminate()) {
                    Ok(mut term) => {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = term.recv() => {}
                        }
                    }
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
        });
    }

    /// Stops receiving, drains every queue, flushes the store, and returns
    /// the final accounting.
    pub fn shutdown(mut self) -> Accounting {
        let state = self.state.take().expect("running");
        state.ready.store(false, Ordering::Relaxed);
        // 1. No new datagrams; the receivers' senders go with them.
        self.stop.store(true, Ordering::Relaxed);
        for r in self.receivers.drain(..) {
            let _ = r.join();
        }
        // 2. Workers drain their queues and hand on what they hold.
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        // 3. HTTP requests in flight (an ingest) finish; then HTTP stops.
        let _ = self.http_stop.send(true);
        if let Some(rt) = self.runtime.take() {
            let handles: Vec<_> = self.http.drain(..).collect();
            rt.block_on(async {
                let _ = tokio::time::timeout(HTTP_DRAIN, async {
                    for h in handles {
                        let _ = h.await;
                    }
                })
                .await;
            });
            rt.shutdown_timeout(HTTP_DRAIN);
        }
        if let Some(h) = self.housekeeping.take() {
            let _ = h.join();
        }
        if let Some(h) = self.analysis.take() {
            let _ = h.join();
        }
        // 4. The writer commits what is queued and its open rollup buckets.
        let telemetry = state.status.telemetry.clone();
        let stats = state.status.writer.clone();
        drop(state);
        if let Some(w) = self.writer.take() {
            match Arc::try_unwrap(w) {
                Ok(w) => w.close(),
                Err(w) => {
                    tracing::warn!("the store writer is still shared at shutdown; it closes when released");
                    drop(w);
                }
            }
        }
        telemetry.accounting(&stats)
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, ServeError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| ServeError::Start(format!("cannot start thread {name}: {e}")))
}

fn bind_tcp(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(1024)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// The wildcard IPv6 address on a machine without IPv6: the default
/// listeners then run on IPv4 alone instead of failing.
fn no_ipv6(addr: SocketAddr, e: &std::io::Error) -> bool {
    addr.is_ipv6()
        && addr.ip().is_unspecified()
        && matches!(
            e.raw_os_error(),
            Some(libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL | libc::EPROTONOSUPPORT)
        )
}

fn bind_hint(e: &std::io::Error, key: &str) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            format!("another program (another flowlens, nfcapd, a collector?) has it; stop it or change {key}")
        }
        std::io::ErrorKind::PermissionDenied => {
            format!("ports below 1024 need root or CAP_NET_BIND_SERVICE; use a higher port in {key}")
        }
        std::io::ErrorKind::AddrNotAvailable => {
            format!("this machine has no such address; use 0.0.0.0 / :: or one of its addresses in {key}")
        }
        _ => format!("check {key}"),
    }
}

/// Sets up logging from `logging.*` (once per process; later calls keep the
/// first).
pub fn init_logging(c: &crate::config::Logging) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FLOWLENS_LOG").unwrap_or_else(|_| EnvFilter::new(c.level.name()));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match c.format {
        crate::config::LogFormat::Json => b.json().try_init(),
        crate::config::LogFormat::Text => b.try_init(),
    };
}

/// glibc gives every thread that allocates its own arena (up to 8 per
/// core), and freed memory stays in them: at 50,000 flows/s the service's
/// resident size was twice its live data. Two arenas hold it close. Called
/// before any thread starts.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; no thread is running yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Prints the first admin's password once, where the person starting the
/// service sees it (stderr, not the log).
fn first_admin_banner(password: &str, config: &Config) {
    let scheme = if config.web.tls.is_some() { "https" } else { "http" };
    let at = config
        .web
        .listen
        .first()
        .map(|a| format!("{scheme}://{a}/login"))
        .unwrap_or_else(|| "the console".into());
    eprintln!(
        "\n  FlowLens created the first account: user `admin`, password `{password}`\n  \
         Sign in at {at} and change it on /account. It is shown this once;\n  \
         lost, reset it with `flowlens user passwd admin --data-dir {}`.\n",
        config.storage.data_dir.display()
    );
}

/// `flowlens serve`: starts, runs until SIGINT/SIGTERM, stops in order and
/// logs the final accounting.
pub fn run(config: Config) -> Result<(), ServeError> {
    init_logging(&config.logging);
    limit_malloc_arenas();
    let data_dir = config.storage.data_dir.clone();
    let service = Service::start(config)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        udp = ?service.udp_addrs(),
        http = ?service.http_addrs(),
        data_dir = %data_dir.display(),
        "flowlens is running; point exporters at the UDP ports, stop with Ctrl-C"
    );
    service.wait_for_signal();
    tracing::info!("stopping: draining queues and flushing the store");
    let t = Instant::now();
    let acc = service.shutdown();
    tracing::info!(
        received = acc.received,
        stored = acc.stored,
        dropped = ?acc.dropped,
        seconds = t.elapsed().as_secs_f64(),
        "stopped: {acc}"
    );
    Ok(())
}
