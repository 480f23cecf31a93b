//! The `flowlens` binary: parses the command line and calls into
//! `flowlens-app`. Nothing else lives here.

mod user;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use flowlens_app::decode::{self, DecodeOptions, Format};
use flowlens_app::{config, query, serve};

#[derive(Parser)]
#[command(
    name = "flowlens",
    version,
    about = "Flow collector and analyzer for NetFlow, IPFIX and sFlow"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the collector: UDP listeners, decoding, storage, HTTP.
    ///
    /// Without a file it listens for NetFlow on 2055, IPFIX on 4739 and sFlow
    /// on 6343, HTTP on 8080 (all on 0.0.0.0 and [::]), and stores in
    /// ./flowlens-data. Each listener flag replaces that protocol's default
    /// listeners; a port of 0 turns it off.
    Serve {
        #[command(flatten)]
        flags: ServeFlags,
    },
    /// Try FlowLens: the service on loopback with simulated exporters of
    /// every protocol, an hour of history, and a temporary data directory.
    ///
    /// Prints the console's address (http://127.0.0.1:8080/ unless --http
    /// says otherwise); stop with Ctrl-C.
    Demo {
        /// HTTP listener (repeatable; default 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR:PORT")]
        http: Vec<SocketAddr>,
        /// Keep the data here instead of a temporary directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// History written before the start: 1h, 30m, 0 for none.
        #[arg(long, default_value = "1h")]
        history: String,
        /// Live flows per second over all simulated exporters.
        #[arg(long, default_value_t = 400)]
        rate: u64,
        /// Require sign-in as `serve` does (accounts from `flowlens user`
        /// in --data-dir).
        #[arg(long)]
        auth: bool,
    },
    /// Manage accounts: add, passwd, delete, list. Works on the data
    /// directory while `flowlens serve` runs; changes apply at once.
    User {
        #[command(subcommand)]
        action: user::UserAction,
        /// Configuration file (for storage.data_dir).
        #[arg(long, value_name = "FILE", global = true)]
        config: Option<PathBuf>,
        /// Data directory (storage.data_dir).
        #[arg(long, value_name = "DIR", global = true)]
        data_dir: Option<PathBuf>,
    },
    /// Store the flows found in pcap/pcapng captures (with their capture
    /// times) in the data directory. Stop `flowlens serve` on it first.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Configuration file (for storage.* and pipeline.dedup.*).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Data directory (storage.data_dir).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Keep flows that several routers exported (no de-duplication).
        #[arg(long)]
        no_dedup: bool,
    },
    /// Send realistic NetFlow/IPFIX/sFlow traffic from many fake exporters.
    ///
    /// Example: flowlens simulate --target 127.0.0.1:2055 --protocol v9 --rate 5000 --duration 60s
    Simulate {
        /// Where to send (a collector's UDP port).
        #[arg(long, default_value = "127.0.0.1:2055")]
        target: SocketAddr,
        /// v5, v9, ipfix or sflow.
        #[arg(long, default_value = "v9")]
        protocol: String,
        /// Flows per second, or `max`.
        #[arg(long, default_value = "1000")]
        rate: String,
        /// How long: 30s, 5m, 1h.
        #[arg(long, default_value = "60s")]
        duration: String,
        /// Fake exporters (each its own source address on loopback).
        #[arg(long, default_value_t = 20)]
        exporters: usize,
        /// Seed of the traffic generator (same seed, same traffic).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// sFlow sampling rate (1 in N).
        #[arg(long, default_value_t = 1000)]
        sflow_rate: u32,
        /// Final report: text on stderr, or one JSON object on stdout.
        #[arg(long, value_enum, default_value = "text")]
        report: ReportArg,
        /// Follow the time of day: --rate at 15:00 UTC, a tenth of it at 03:00.
        #[arg(long)]
        daily: bool,
        /// Inject a condition into the normal traffic: port-scan, host-sweep,
        /// ddos, link-down, dns-flood, telnet, asymmetric or no-response.
        #[arg(long)]
        scenario: Option<String>,
        /// When the scenario starts, after the first flow: 0s, 30s, 5m.
        #[arg(long, default_value = "0s")]
        scenario_at: String,
    },
    /// Write, check or show the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Decode flow datagrams from pcap/pcapng captures (or bare UDP payloads)
    /// and print one record per line.
    ///
    /// Files are read in the order given with one shared template state, so a
    /// capture holding templates followed by one holding data decodes as one
    /// stream. A summary of datagrams, records and errors goes to stderr.
    Decode {
        /// Capture files (pcap or pcapng), or with --raw bare UDP payloads.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format; default: table on a terminal, json otherwise.
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// Treat each FILE as one bare UDP payload.
        #[arg(long)]
        raw: bool,
        /// Exporter address assumed for --raw payloads.
        #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
        exporter: String,
        /// Also print sFlow counter samples (as "kind": "counters").
        #[arg(long)]
        counters: bool,
        /// Also print NetFlow v9 / IPFIX options data (as "kind": "options").
        #[arg(long)]
        options: bool,
    },
    /// Ask a data directory about its flows: a listing, or the top values
    /// of one or more dimensions.
    ///
    /// Examples:
    ///   flowlens query 'proto tcp and dst port 443' --since 1h --top 10 --by src_addr
    ///   flowlens query 'src net 10.0.0.0/8' --limit 50 --order bytes
    Query {
        /// Filter in the filter language (nfdump style); empty for all.
        #[arg(default_value = "")]
        filter: String,
        /// Data directory (storage.data_dir).
        #[arg(long, default_value = "./flowlens-data", value_name = "DIR")]
        data_dir: PathBuf,
        /// Start: relative (1h, 15m, 7d), unix seconds or RFC 3339.
        #[arg(long, default_value = "1h")]
        since: String,
        /// End, in the same forms.
        #[arg(long, default_value = "now")]
        until: String,
        /// Group by these dimensions (comma-separated: src_addr, dst_addr,
        /// src_port, dst_port, proto, src_as, dst_as, in_if, out_if,
        /// exporter, src_country, dst_country, ip_version).
        #[arg(long, value_delimiter = ',')]
        by: Vec<String>,
        /// With --by: how many top values.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Listing: time (newest first), +time, bytes, packets. With --by: the
        /// metric to rank by (bytes, packets, flows).
        #[arg(long, default_value = "time")]
        order: String,
        /// Listing: how many flows.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: QueryFormatArg,
    },
}

#[derive(clap::Args, Clone, Default)]
struct ServeFlags {
    /// Configuration file (YAML); `flowlens config init FILE` writes one.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (storage.data_dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// HTTP listener (repeatable; replaces web.listen).
    #[arg(long, value_name = "ADDR:PORT")]
    http: Vec<SocketAddr>,
    /// NetFlow listener (repeatable).
    #[arg(long, value_name = "ADDR:PORT")]
    netflow: Vec<SocketAddr>,
    /// IPFIX listener (repeatable).
    #[arg(long, value_name = "ADDR:PORT")]
    ipfix: Vec<SocketAddr>,
    /// sFlow listener (repeatable).
    #[arg(long, value_name = "ADDR:PORT")]
    sflow: Vec<SocketAddr>,
}

impl ServeFlags {
    fn overrides(&self) -> config::Overrides {
        config::Overrides {
            data_dir: self.data_dir.clone(),
            http: self.http.clone(),
            netflow: self.netflow.clone(),
            ipfix: self.ipfix.clone(),
            sflow: self.sflow.clone(),
        }
    }
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Write the default configuration, with comments, to FILE (or stdout).
    Init {
        file: Option<PathBuf>,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Check FILE (and the FLOWLENS_* environment): every problem, one per line.
    Check { file: PathBuf },
    /// Show the configuration in effect and where each value came from.
    Print {
        #[command(flatten)]
        flags: ServeFlags,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportArg {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum QueryFormatArg {
    Table,
    Json,
    Csv,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Json,
    Table,
    /// No records, only the summary (checking or timing a capture).
    Count,
}

fn parse_exporter(s: &str) -> Option<SocketAddr> {
    s.parse::<SocketAddr>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(|ip| SocketAddr::new(ip, 0)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { flags } => {
            let c = match load_config(flags.config.as_deref(), &flags.overrides()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match serve::run(c) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("flowlens: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Config { action } => config_cmd(action),
        Command::User {
            action,
            config: file,
            data_dir,
        } => {
            let c = match config_with_data_dir(file.as_deref(), data_dir) {
                Ok(c) => c,
                Err(code) => return code,
            };
            user::run(action, &c.storage.data_dir)
        }
        Command::Demo {
            http,
            data_dir,
            history,
            rate,
            auth,
        } => {
            let history = match config::units::Dur::parse(&history) {
                Ok(d) => d.0,
                Err(e) => {
                    eprintln!("flowlens: --history: {e}");
                    return ExitCode::from(2);
                }
            };
            if rate == 0 {
                eprintln!("flowlens: --rate must be 1 or more");
                return ExitCode::from(2);
            }
            let mut o = flowlens_app::demo::DemoOptions {
                data_dir,
                history,
                rate,
                auth,
                ..Default::default()
            };
            if !http.is_empty() {
                o.http = http;
            }
            match flowlens_app::demo::run(o) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("flowlens: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Import {
            files,
            config: file,
            data_dir,
            no_dedup,
        } => {
            let c = match config_with_data_dir(file.as_deref(), data_dir) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let d = &c.pipeline.dedup;
            let opts = flowlens_app::import::ImportOptions {
                files,
                store: flowlens_app::import::store_config(&c),
                dedup: (d.enabled && !no_dedup).then_some((d.ttl.0, d.max_entries)),
                progress: std::io::stderr().is_terminal(),
                config: c.clone(),
            };
            match flowlens_app::import::run(&opts) {
                Ok(s) => {
                    eprintln!("{}", s.render());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("flowlens: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Simulate {
            target,
            protocol,
            rate,
            duration,
            exporters,
            seed,
            sflow_rate,
            report,
            daily,
            scenario,
            scenario_at,
        } => {
            let opts = match simulate_options(target, &protocol, &rate, &duration, exporters, seed, sflow_rate)
                .and_then(|o| {
                    let scenario = match scenario {
                        None => None,
                        Some(s) => Some((
                            flowlens_app::scenario::Scenario::parse(&s).map_err(|e| format!("--scenario: {e}"))?,
                            config::units::Dur::parse(&scenario_at)
                                .map_err(|e| format!("--scenario-at: {e}"))?
                                .0,
                        )),
                    };
                    Ok(flowlens_app::simulate::SimOptions { daily, scenario, ..o })
                }) {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("flowlens: {e}");
                    return ExitCode::from(2);
                }
            };
            let tty = std::io::stderr().is_terminal();
            let result = flowlens_app::simulate::run(&opts, |r| {
                if tty {
                    eprint!(
                        "\r{:.0} s: {} flows in {} datagrams ({:.0} flows/s)   ",
                        r.seconds,
                        r.flows,
                        r.datagrams,
                        r.flows as f64 / r.seconds.max(0.001)
                    );
                }
            });
            if tty {
                eprintln!();
            }
            match result {
                Ok(r) => {
                    match report {
                        ReportArg::Json => println!("{}", serde_json::to_string(&r).unwrap_or_default()),
                        ReportArg::Text => eprintln!(
                            "sent {} flows ({} bytes, {} packets) in {} datagrams from {} {} exporters in {:.1} s \
                             ({:.0} flows/s){}",
                            r.flows,
                            r.bytes,
                            r.packets,
                            r.datagrams,
                            r.exporters,
                            r.protocol,
                            r.seconds,
                            r.flows as f64 / r.seconds.max(0.001),
                            if r.send_errors > 0 {
                                format!("; {} datagrams refused by the kernel", r.send_errors)
                            } else {
                                String::new()
                            }
                        ),
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("flowlens: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Query {
            filter,
            data_dir,
            since,
            until,
            by,
            top,
            order,
            limit,
            format,
        } => {
            let opts = query::QueryOptions {
                data_dir,
                filter,
                since,
                until,
                by,
                top,
                order,
                limit,
                format: match format {
                    QueryFormatArg::Table => query::Format::Table,
                    QueryFormatArg::Json => query::Format::Json,
                    QueryFormatArg::Csv => query::Format::Csv,
                },
            };
            let now = serve::now();
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match query::run(&opts, now, &mut out).and_then(|()| Ok(std::io::Write::flush(&mut out)?)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(query::QueryCmdError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("flowlens: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Decode {
            files,
            format,
            raw,
            exporter,
            counters,
            options,
        } => {
            let Some(exporter) = parse_exporter(&exporter) else {
                eprintln!("flowlens: --exporter {exporter:?} is not an address; use e.g. 192.0.2.1 or 192.0.2.1:2055");
                return ExitCode::from(2);
            };
            let format = match format {
                Some(FormatArg::Json) => Format::Json,
                Some(FormatArg::Table) => Format::Table,
                Some(FormatArg::Count) => Format::Count,
                None if std::io::stdout().is_terminal() => Format::Table,
                None => Format::Json,
            };
            let opts = DecodeOptions {
                format,
                raw,
                exporter,
                counters,
                options,
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match decode::run(&files, opts, &mut out) {
                Ok(summary) => {
                    eprintln!("{}", summary.render());
                    ExitCode::SUCCESS
                }
                Err(decode::DecodeCmdError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("flowlens: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// The configuration a command runs with (file, environment, flags), or
/// the exit code after saying what is wrong with it.
/// The configuration of a command that only takes `--config` and
/// `--data-dir`.
fn config_with_data_dir(file: Option<&std::path::Path>, data_dir: Option<PathBuf>) -> Result<config::Config, ExitCode> {
    let flags = config::Overrides {
        data_dir,
        ..config::Overrides::default()
    };
    load_config(file, &flags)
}

fn load_config(file: Option<&std::path::Path>, flags: &config::Overrides) -> Result<config::Config, ExitCode> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    config::load(file, &env, flags).map(|l| l.config).map_err(|e| {
        eprintln!("flowlens: configuration:\n{e}");
        ExitCode::from(2)
    })
}

fn simulate_options(
    target: SocketAddr,
    protocol: &str,
    rate: &str,
    duration: &str,
    exporters: usize,
    seed: u64,
    sflow_rate: u32,
) -> Result<flowlens_app::simulate::SimOptions, String> {
    let rate = match rate {
        "max" => None,
        r => Some(
            r.parse::<u64>()
                .map_err(|_| format!("--rate {r:?}: use flows per second (e.g. 5000) or max"))?,
        ),
    };
    let duration = config::units::Dur::parse(duration).map_err(|e| format!("--duration: {e}"))?;
    if sflow_rate == 0 {
        return Err("--sflow-rate must be 1 or more".into());
    }
    Ok(flowlens_app::simulate::SimOptions {
        target,
        protocol: flowlens_app::simulate::SimProtocol::parse(protocol)?,
        rate,
        duration: duration.0,
        exporters,
        seed,
        sflow_rate,
        ..flowlens_app::simulate::SimOptions::default()
    })
}

fn config_cmd(action: ConfigAction) -> ExitCode {
    let env: Vec<(String, String)> = std::env::vars().collect();
    match action {
        ConfigAction::Init { file: None, .. } => {
            print!("{}", config::TEMPLATE);
            ExitCode::SUCCESS
        }
        ConfigAction::Init { file: Some(f), force } => {
            if f.exists() && !force {
                eprintln!("flowlens: {} exists; pass --force to replace it", f.display());
                return ExitCode::from(2);
            }
            match std::fs::write(&f, config::TEMPLATE) {
                Ok(()) => {
                    eprintln!("wrote {} (every key shows its default)", f.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("flowlens: cannot write {}: {e}", f.display());
                    ExitCode::from(1)
                }
            }
        }
        ConfigAction::Check { file } => match config::load(Some(&file), &env, &config::Overrides::default()) {
            Ok(_) => {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        ConfigAction::Print { flags } => match config::load(flags.config.as_deref(), &env, &flags.overrides()) {
            Ok(l) => {
                print!("{}", l.print());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
    }
}
