//! Changes to accounts, shared by the API (`/api/v1/users`, `/tokens`,
//! `/me/password`) and the shell (`flowlens user`): the checks, the
//! hashing, and the audit entry of each.

use flowlens_store::accounts::{AuditRow, TokenRow, UserRow};
use flowlens_store::{Accounts, StoreError};

use super::limits::{
    GENERATED_PASSWORD_CHARS, MAX_AUDIT_TEXT, MAX_TOKENS_PER_USER, MAX_TOKEN_NAME, MAX_USERS, MAX_USER_NAME,
};
use super::{password, secret, Permission, Role, Scope};

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The request is wrong; the message says how.
    Bad(String),
    NotFound(String),
    /// It would break something (the last admin, a taken name).
    Conflict(String),
    Store(String),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        Refusal::Store(e.to_string())
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Bad(m) | Refusal::NotFound(m) | Refusal::Conflict(m) | Refusal::Store(m) => f.write_str(m),
        }
    }
}

/// Who makes a change, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    /// The peer address, or `cli`.
    pub source: String,
}

/// Appends to the audit log (the text fields cut to a bounded length).
pub fn audit(a: &Accounts, actor: &Actor, action: &str, target: &str, outcome: &str, detail: &str) {
    let cut = |s: &str| s.chars().take(MAX_AUDIT_TEXT).collect::<String>();
    let row = AuditRow {
        id: 0,
        at_unix: crate::api::now_unix(),
        actor: cut(&actor.name),
        source: cut(&actor.source),
        action: action.to_string(),
        target: cut(target),
        outcome: outcome.to_string(),
        detail: cut(detail),
    };
    match a.audit(&row) {
        Ok(id) if id % 1_000 == 0 => {
            let _ = a.prune_audit(super::limits::MAX_AUDIT_ENTRIES);
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, action, "the audit log could not be written"),
    }
    tracing::info!(target: "flowlens::audit", actor = %actor.name, source = %actor.source, action, target, outcome, detail, "audit");
}

pub fn check_name(name: &str) -> Result<(), Refusal> {
    let ok = !name.is_empty()
        && name.len() <= MAX_USER_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(Refusal::Bad(format!(
            "name: 1 to {MAX_USER_NAME} letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

/// A role's and scope's combination: an admin sees everything.
fn check_scope(role: Role, scope: Option<Scope>) -> Result<Option<Scope>, Refusal> {
    let scope = match scope {
        Some(s) => s.checked().map_err(|e| Refusal::Bad(format!("scope: {e}")))?,
        None => None,
    };
    if role == Role::Admin && scope.is_some() {
        return Err(Refusal::Bad(
            "scope: an admin manages every account and sees everything; give a scope to viewers and analysts".into(),
        ));
    }
    Ok(scope)
}

/// What a new account gets.
pub struct NewUser {
    pub name: String,
    pub role: Role,
    /// `None`: a password is generated and returned.
    pub password: Option<String>,
    pub scope: Option<Scope>,
}

/// Adds a user; the generated password, if one was made.
pub fn add_user(a: &Accounts, n: NewUser, by: &Actor) -> Result<(UserRow, Option<String>), Refusal> {
    check_name(&n.name)?;
    let scope = check_scope(n.role, n.scope)?;
    let (pw, generated) = match n.password {
        Some(p) => {
            password::check(&p).map_err(|e| Refusal::Bad(format!("password: {e}")))?;
            (p, None)
        }
        None => {
            let p = secret::random_password(GENERATED_PASSWORD_CHARS);
            (p.clone(), Some(p))
        }
    };
    if a.user_count()? as usize >= MAX_USERS {
        return Err(Refusal::Conflict(format!(
            "{MAX_USERS} users exist already; delete some first"
        )));
    }
    let now = crate::api::now_unix();
    let mut row = UserRow {
        id: 0,
        name: n.name.clone(),
        role: n.role.as_str().into(),
        password_hash: password::hash(&pw),
        scope: Scope::store(scope.as_ref()),
        created_unix: now,
        updated_unix: now,
    };
    let Some(id) = a.insert_user(&row)? else {
        audit(a, by, "user.add", &n.name, "failed", "the name is taken");
        return Err(Refusal::Conflict(format!("a user named {} exists already", n.name)));
    };
    row.id = id;
    audit(
        a,
        by,
        "user.add",
        &n.name,
        "ok",
        &format!("role {}{}", n.role.as_str(), scope_words(scope.as_ref())),
    );
    Ok((row, generated))
}

fn scope_words(s: Option<&Scope>) -> String {
    match s {
        None => String::new(),
        Some(s) => format!(
            ", scope exporters [{}] networks [{}]",
            s.exporters.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(" "),
            s.networks.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(" ")
        ),
    }
}

/// A change to an account: the fields given replace the account's.
#[derive(Default)]
pub struct UserChange {
    pub role: Option<Role>,
    /// `Some(None)` removes the scope.
    pub scope: Option<Option<Scope>>,
    pub password: Option<String>,
}

fn admins(a: &Accounts) -> Result<usize, Refusal> {
    Ok(a.users()?.iter().filter(|u| u.role == "admin").count())
}

pub fn change_user(a: &Accounts, id: i64, c: UserChange, by: &Actor) -> Result<UserRow, Refusal> {
    let Some(mut u) = a.user(id)? else {
        return Err(Refusal::NotFound(format!("no user {id}")));
    };
    let old_role = Role::parse(&u.role).unwrap_or(Role::Viewer);
    let role = c.role.unwrap_or(old_role);
    if old_role == Role::Admin && role != Role::Admin && admins(a)? <= 1 {
        return Err(Refusal::Conflict(format!(
            "{} is the last admin; make another user admin first",
            u.name
        )));
    }
    let scope_given = c.scope.is_some();
    let scope = match c.scope {
        Some(s) => s,
        None => Scope::load(&u.scope),
    };
    let scope = check_scope(role, scope)?;
    let mut what = Vec::new();
    if role != old_role {
        what.push(format!("role {} → {}", old_role.as_str(), role.as_str()));
    }
    let new_scope = Scope::store(scope.as_ref());
    if new_scope != u.scope {
        what.push(format!("scope{}", scope_words(scope.as_ref()).trim_start_matches(',')));
        if scope.is_none() {
            what.push("scope removed".into());
        }
    }
    let new_password = c.password.is_some();
    if let Some(p) = &c.password {
        password::check(p).map_err(|e| Refusal::Bad(format!("password: {e}")))?;
        u.password_hash = password::hash(p);
        what.push("password changed, sessions ended".into());
    }
    u.role = role.as_str().into();
    u.scope = new_scope;
    u.updated_unix = crate::api::now_unix();
    // A narrower role or scope applies at once: end the sessions.
    let narrowed = role < old_role || scope_given;
    a.update_user(&u, new_password || narrowed)?;
    audit(a, by, "user.change", &u.name, "ok", &what.join("; "));
    Ok(u)
}

pub fn delete_user(a: &Accounts, id: i64, by: &Actor, self_id: Option<i64>) -> Result<UserRow, Refusal> {
    let Some(u) = a.user(id)? else {
        return Err(Refusal::NotFound(format!("no user {id}")));
    };
    if self_id == Some(id) {
        return Err(Refusal::Conflict(
            "you cannot delete your own account; ask another admin".into(),
        ));
    }
    if u.role == "admin" && admins(a)? <= 1 {
        return Err(Refusal::Conflict(format!(
            "{} is the last admin; add another admin first",
            u.name
        )));
    }
    a.delete_user(id)?;
    audit(a, by, "user.delete", &u.name, "ok", "sessions and tokens ended");
    Ok(u)
}

/// A new token for `user`: the row and the secret (shown once).
pub fn add_token(
    a: &Accounts,
    user: &UserRow,
    name: &str,
    permissions: &[Permission],
    by: &Actor,
) -> Result<(TokenRow, String), Refusal> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME {
        return Err(Refusal::Bad(format!("name: 1 to {MAX_TOKEN_NAME} characters")));
    }
    let role = Role::parse(&user.role).unwrap_or(Role::Viewer);
    let scoped = Scope::load(&user.scope).is_some();
    for p in permissions {
        let ok = match p {
            Permission::Ingest => role >= Role::Analyst && !scoped,
            Permission::Metrics => !scoped,
        };
        if !ok {
            return Err(Refusal::Bad(format!(
                "permissions: {} needs an account without a scope{}",
                p.as_str(),
                if *p == Permission::Ingest {
                    " and the analyst or admin role"
                } else {
                    ""
                }
            )));
        }
    }
    if a.tokens(Some(user.id))?.len() >= MAX_TOKENS_PER_USER {
        return Err(Refusal::Conflict(format!(
            "{} has {MAX_TOKENS_PER_USER} tokens already; revoke some first",
            user.name
        )));
    }
    let token = secret::new_token();
    let mut perms: Vec<&str> = permissions.iter().map(|p| p.as_str()).collect();
    perms.sort_unstable();
    perms.dedup();
    let now = crate::api::now_unix();
    let prefix: String = token.chars().take(12).collect();
    let id = a.insert_token(user.id, name, &secret::digest(&token), &prefix, &perms.join(","), now)?;
    audit(
        a,
        by,
        "token.add",
        &format!("{} / {name} (token {id})", user.name),
        "ok",
        &format!("permissions [{}]", perms.join(" ")),
    );
    let row = TokenRow {
        id,
        user_id: user.id,
        user_name: user.name.clone(),
        name: name.into(),
        prefix,
        permissions: perms.join(","),
        created_unix: now,
        last_used_unix: None,
    };
    Ok((row, token))
}

pub fn revoke_token(a: &Accounts, id: i64, owner: Option<i64>, by: &Actor) -> Result<(), Refusal> {
    let t = a.tokens(owner)?.into_iter().find(|t| t.id == id);
    let Some(t) = t else {
        return Err(Refusal::NotFound(format!("no token {id}")));
    };
    a.delete_token(id, owner)?;
    audit(
        a,
        by,
        "token.revoke",
        &format!("{} / {} (token {id})", t.user_name, t.name),
        "ok",
        "",
    );
    Ok(())
}

/// First start: when no user exists, `admin` with a generated password
/// (printed once by the caller).
pub fn first_admin(a: &Accounts) -> Result<Option<String>, Refusal> {
    if a.user_count()? > 0 {
        return Ok(None);
    }
    let by = Actor {
        name: "flowlens".into(),
        source: "first start".into(),
    };
    let (_, pw) = add_user(
        a,
        NewUser {
            name: "admin".into(),
            role: Role::Admin,
            password: None,
            scope: None,
        },
        &by,
    )?;
    Ok(pw)
}

/// The document kind holding the settings of the last start.
const CONFIG_DOC: &str = "config_snapshot";

/// At start: records the configuration in the audit log — the keys that
/// changed since the last start with their old and new values (secrets
/// masked by [`crate::config::settings`]).
pub fn record_config(store: &flowlens_store::Store, settings: &[(String, String)]) {
    let by = Actor {
        name: "flowlens".into(),
        source: "start".into(),
    };
    let now: std::collections::BTreeMap<&str, &str> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let body = serde_json::to_string(&now).unwrap_or_default();
    let before: Option<std::collections::BTreeMap<String, String>> = store
        .docs(CONFIG_DOC, 1)
        .ok()
        .and_then(|d| d.into_iter().next())
        .and_then(|(_, b)| serde_json::from_str(&b).ok());
    let a = store.accounts();
    match before {
        None => audit(
            a,
            &by,
            "config.start",
            "configuration",
            "ok",
            &format!("first start, {} settings", now.len()),
        ),
        Some(old) => {
            let mut changes = Vec::new();
            for (k, v) in &now {
                match old.get(*k) {
                    Some(o) if o == v => {}
                    Some(o) => changes.push(format!("{k}: {o} → {v}")),
                    None => changes.push(format!("{k}: (new) {v}")),
                }
            }
            for k in old.keys().filter(|k| !now.contains_key(k.as_str())) {
                changes.push(format!("{k}: removed"));
            }
            if changes.is_empty() {
                return;
            }
            audit(a, &by, "config.change", "configuration", "ok", &changes.join("; "));
        }
    }
    if let Err(e) = store.put_doc(CONFIG_DOC, 1, &body, crate::api::now_unix(), true) {
        tracing::warn!(error = %e, "the configuration snapshot could not be kept");
    }
}
