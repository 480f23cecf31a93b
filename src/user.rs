//! `flowlens user`: the command line of account management (the work is
//! `flowlens_app::auth::cli`).

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use flowlens_app::auth::cli::UserCommand;

#[derive(Subcommand)]
pub enum UserAction {
    /// Add an account; without --password-stdin the password is asked on a
    /// terminal, or generated and printed once.
    Add {
        name: String,
        /// viewer (reads), analyst (also alert and classification rules) or
        /// admin (also users and the audit log).
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Limit the account to this exporter (repeatable).
        #[arg(long = "exporter", value_name = "ADDR")]
        exporters: Vec<std::net::IpAddr>,
        /// Limit the account to flows with an end in this network (repeatable).
        #[arg(long = "network", value_name = "CIDR")]
        networks: Vec<ipnet::IpNet>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (ends the account's sessions).
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete an account with its sessions and tokens.
    Delete { name: String },
    /// Print a new API token of the account (its role and scope), e.g. for
    /// Prometheus or a script; shown once.
    Token {
        name: String,
        /// What the token is for (listed on /account).
        #[arg(long = "name", value_name = "LABEL", default_value = "cli")]
        label: String,
        /// Extra right: ingest (POST /ingest) or metrics (the scrape); repeatable.
        #[arg(long = "permission", value_name = "PERM")]
        permissions: Vec<String>,
    },
    /// Every account with its role and scope.
    List,
}

/// Runs one `flowlens user` action on the data directory.
pub fn run(action: UserAction, data_dir: &Path) -> ExitCode {
    let cmd = match action {
        UserAction::Add {
            name,
            role,
            exporters,
            networks,
            password_stdin,
        } => UserCommand::Add {
            name,
            role,
            exporters,
            networks,
            password_stdin,
        },
        UserAction::Passwd { name, password_stdin } => UserCommand::Passwd { name, password_stdin },
        UserAction::Delete { name } => UserCommand::Delete { name },
        UserAction::Token {
            name,
            label,
            permissions,
        } => {
            let mut ps = Vec::new();
            for p in permissions {
                match p.as_str() {
                    "ingest" => ps.push(flowlens_app::auth::Permission::Ingest),
                    "metrics" => ps.push(flowlens_app::auth::Permission::Metrics),
                    other => {
                        eprintln!("flowlens user token: --permission {other}: one of ingest, metrics");
                        return ExitCode::from(2);
                    }
                }
            }
            UserCommand::Token {
                name,
                token_name: label,
                permissions: ps,
            }
        }
        UserAction::List => UserCommand::List,
    };
    match flowlens_app::auth::cli::run(data_dir, cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flowlens user: {e}");
            ExitCode::from(1)
        }
    }
}
