//! The `flowlens` binary: parses the command line and calls into
//! `flowlens-app`. Nothing else lives here.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use flowlens_app::decode::{self, DecodeOptions, Format};

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
