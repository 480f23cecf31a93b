//! The filter language: nfdump-style expressions network engineers know
//! (`src net 10.0.0.0/8 and dst port in [80 443] and not proto icmp`).
//!
//! One AST ([`ast::Expr`]), three back ends: SQL with bound parameters
//! ([`sql`], through a [`sql::Dialect`] so ClickHouse is a small addition),
//! and an in-memory predicate over a [`crate::Flow`] ([`eval`]) for the live
//! feed, alerts and forwarding. The two must agree row for row.
//!
//! Grammar (case-insensitive keywords; `and`/`&&`, `or`/`||`, `not`/`!`,
//! parentheses; `or` binds loosest):
//!
//! | term | meaning |
//! | --- | --- |
//! | `[src\|dst] host A`, `ip A` | address (either end without src/dst) |
//! | `[src\|dst] net P/LEN` | IPv4 or IPv6 network |
//! | `[src\|dst] port N`, `as N`, `vlan N` | with `= != < <= > >=` (or `eq ne lt le gt ge`), `N-M`, `in [a b c-d]` |
//! | `[src\|dst] country CC` | ISO 3166 code (from enrichment) |
//! | `[in\|out] if N` | interface index |
//! | `proto tcp\|udp\|icmp\|icmp6\|gre\|esp\|ah\|sctp\|N` | IP protocol |
//! | `inet`, `inet6` | IP version |
//! | `flags SA` | all these TCP flags set (F S R P A U E C; X = all six classic) |
//! | `tos N`, `bytes N`, `packets N` | counts take K/M/G (×1000) suffixes; sampling-corrected |
//! | `exporter A[/LEN]` | exporter address |
//! | `any` | everything |

pub mod ast;
pub mod eval;
mod lexer;
mod parser;
pub mod sql;

pub use ast::Expr;

/// Why a filter was refused. Messages say where and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("at column {col}: expected {expected}, found {found}")]
    Syntax {
        col: usize,
        expected: String,
        found: String,
    },
    #[error("at column {col}: {message}")]
    Value { col: usize, message: String },
    #[error("filter longer than {max} characters")]
    TooLong { max: usize },
    #[error("filter nested deeper than {max} levels")]
    TooDeep { max: usize },
}

impl FilterError {
    /// A short stable code (API error codes, metric labels).
    pub fn code(&self) -> &'static str {
        match self {
            FilterError::Syntax { .. } => "filter_syntax",
            FilterError::Value { .. } => "filter_value",
            FilterError::TooLong { .. } => "filter_too_long",
            FilterError::TooDeep { .. } => "filter_too_deep",
        }
    }
}

/// A parsed filter, ready for either back end.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub expr: Expr,
    /// The text as given (echoed back in answers).
    pub text: String,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        Ok(Filter {
            expr: parser::parse(text)?,
            text: text.trim().to_string(),
        })
    }

    pub fn all() -> Filter {
        Filter {
            expr: Expr::All,
            text: String::new(),
        }
    }

    /// Both this filter and `other`.
    pub fn and(self, other: Filter) -> Filter {
        let text = match (self.text.is_empty(), other.text.is_empty()) {
            (true, _) => other.text.clone(),
            (_, true) => self.text.clone(),
            _ => format!("({}) and ({})", self.text, other.text),
        };
        Filter {
            expr: match (self.expr, other.expr) {
                (Expr::All, e) | (e, Expr::All) => e,
                (a, b) => Expr::And(Box::new(a), Box::new(b)),
            },
            text,
        }
    }

    pub fn matches(&self, f: &crate::Flow) -> bool {
        eval::matches(&self.expr, f)
    }

    pub fn to_sql(&self, d: &dyn sql::Dialect) -> sql::Compiled {
        sql::compile(&self.expr, d)
    }
}

#[cfg(test)]
mod tests;
