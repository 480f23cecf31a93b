//! `flowlens user add|passwd|delete|list`: accounts from the shell, in the
//! data directory's `meta.sqlite` only — so it works while `flowlens
//! serve` runs, and the service sees the change on the next request.

use std::io::{BufRead, IsTerminal, Write};
use std::net::IpAddr;
use std::path::Path;

use flowlens_store::Accounts;
use ipnet::IpNet;

use super::manage::{self, Actor, NewUser, UserChange};
use super::{Role, Scope};

pub enum UserCommand {
    Add {
        name: String,
        role: String,
        exporters: Vec<IpAddr>,
        networks: Vec<IpNet>,
        password_stdin: bool,
    },
    Passwd {
        name: String,
        password_stdin: bool,
    },
    Delete {
        name: String,
    },
    /// A new API token for the user, printed once.
    Token {
        name: String,
        token_name: String,
        permissions: Vec<super::Permission>,
    },
    List,
}

/// The account running the command: `sudo`'s caller, else the user of
/// the process.
fn login_name() -> String {
    if let Ok(u) = std::env::var("SUDO_USER") {
        return u;
    }
    // SAFETY: getpwuid returns a pointer into static storage (or null),
    // read at once on this thread.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if !pw.is_null() && !(*pw).pw_name.is_null() {
            return std::ffi::CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned();
        }
    }
    std::env::var("USER").unwrap_or_else(|_| format!("uid {}", unsafe { libc::getuid() }))
}

fn actor() -> Actor {
    let who = login_name();
    Actor {
        name: format!("shell:{who}"),
        source: "cli".into(),
    }
}

/// Reads a line from the terminal without echo.
fn prompt_hidden(prompt: &str) -> Result<String, String> {
    let mut err = std::io::stderr();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it for a terminal fd
    // (checked by the caller) and tcsetattr restores it below.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    let have = unsafe { libc::tcgetattr(fd, &mut t) } == 0;
    let saved = t;
    if have {
        t.c_lflag &= !libc::ECHO;
        t.c_lflag |= libc::ECHONL;
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t) };
    }
    let mut line = String::new();
    let r = std::io::stdin().lock().read_line(&mut line);
    if have {
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    }
    r.map_err(|e| format!("reading the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// The new password: a line of stdin (`--password-stdin`), typed twice on
/// a terminal, or `None` (then one is generated).
fn new_password(from_stdin: bool) -> Result<Option<String>, String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("reading the password from stdin: {e}"))?;
        let p = line.trim_end_matches(['\r', '\n']).to_string();
        super::password::check(&p)?;
        return Ok(Some(p));
    }
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let a = prompt_hidden("New password (empty: generate one): ")?;
    if a.is_empty() {
        return Ok(None);
    }
    super::password::check(&a)?;
    if prompt_hidden("Again: ")? != a {
        return Err("the two passwords differ; nothing changed".into());
    }
    Ok(Some(a))
}

pub fn run(data_dir: &Path, cmd: UserCommand) -> Result<(), String> {
    let a = Accounts::open(data_dir).map_err(|e| e.to_string())?;
    let by = actor();
    match cmd {
        UserCommand::Add {
            name,
            role,
            exporters,
            networks,
            password_stdin,
        } => {
            let role = Role::parse(&role)?;
            manage::check_name(&name).map_err(|e| e.to_string())?;
            let password = new_password(password_stdin)?;
            let scope = Scope { exporters, networks };
            let (u, generated) = manage::add_user(
                &a,
                NewUser {
                    name,
                    role,
                    password,
                    scope: Some(scope),
                },
                &by,
            )
            .map_err(|e| e.to_string())?;
            println!("added {} ({})", u.name, u.role);
            if let Some(p) = generated {
                println!("password: {p}");
                eprintln!("(shown this once; the user can change it on /account)");
            }
        }
        UserCommand::Passwd { name, password_stdin } => {
            let u = a
                .user_by_name(&name)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user named {name}; `flowlens user list` shows them"))?;
            let password = new_password(password_stdin)?;
            let (pw, generated) = match password {
                Some(p) => (p, false),
                None => (
                    super::secret::random_password(super::limits::GENERATED_PASSWORD_CHARS),
                    true,
                ),
            };
            manage::change_user(
                &a,
                u.id,
                UserChange {
                    password: Some(pw.clone()),
                    ..UserChange::default()
                },
                &by,
            )
            .map_err(|e| e.to_string())?;
            println!("changed the password of {name}; their sessions ended");
            if generated {
                println!("password: {pw}");
            }
        }
        UserCommand::Delete { name } => {
            let u = a
                .user_by_name(&name)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user named {name}; `flowlens user list` shows them"))?;
            manage::delete_user(&a, u.id, &by, None).map_err(|e| e.to_string())?;
            println!("deleted {name} with their sessions and tokens");
        }
        UserCommand::Token {
            name,
            token_name,
            permissions,
        } => {
            let u = a
                .user_by_name(&name)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user named {name}; `flowlens user list` shows them"))?;
            let (row, secret) = manage::add_token(&a, &u, &token_name, &permissions, &by).map_err(|e| e.to_string())?;
            println!("{secret}");
            eprintln!(
                "token {} \"{}\" for {name}{}: shown this once; send it as `Authorization: Bearer <token>`",
                row.id,
                row.name,
                if row.permissions.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", row.permissions)
                }
            );
        }
        UserCommand::List => {
            let users = a.users().map_err(|e| e.to_string())?;
            if users.is_empty() {
                println!("no users yet: `flowlens serve` creates admin on its first start, or `flowlens user add NAME --role admin`");
            }
            for u in users {
                let scope = Scope::load(&u.scope)
                    .map(|s| {
                        let e: Vec<String> = s.exporters.iter().map(|x| x.to_string()).collect();
                        let n: Vec<String> = s.networks.iter().map(|x| x.to_string()).collect();
                        format!("exporters [{}] networks [{}]", e.join(" "), n.join(" "))
                    })
                    .unwrap_or_else(|| "everything".into());
                println!("{:<24} {:<8} {scope}", u.name, u.role);
            }
        }
    }
    Ok(())
}
