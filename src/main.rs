//! The `flowlens` binary: parses the command line and calls into
//! `flowlens-app`. Nothing else lives here.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use flowlens_app::decode::{self, DecodeOptions, Format};
use flowlens_app::query;

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
            let now = flowlens_wire_now();
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

/// The wall clock, read once here at the edge (libraries take time as a
/// parameter).
fn flowlens_wire_now() -> flowlens_app::Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    flowlens_app::Timestamp(d.as_nanos() as i64)
}
