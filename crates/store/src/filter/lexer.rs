//! Tokens of the filter language, each with the column it starts at
//! (1-based, in characters) so errors can point at it.

use super::FilterError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A word: keyword, number, address, CIDR, flag letters, country code.
    Word(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    /// `=`, `==`, `!=`, `<`, `<=`, `>`, `>=`.
    Op(&'static str),
    /// `&&`
    And,
    /// `||`
    Or,
    /// `!`
    Not,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("\"{w}\""),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Op(o) => format!("\"{o}\""),
            Tok::And => "\"&&\"".into(),
            Tok::Or => "\"||\"".into(),
            Tok::Not => "\"!\"".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub col: usize,
}

/// Splits a filter into tokens. Words run until whitespace or punctuation;
/// `:` `.` `/` `-` stay inside words (addresses, CIDRs, ranges).
pub fn lex(input: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        let two = chars.get(i + 1).copied();
        let (tok, len) = match (c, two) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            (',', _) => (Tok::Comma, 1),
            ('&', Some('&')) => (Tok::And, 2),
            ('|', Some('|')) => (Tok::Or, 2),
            ('!', Some('=')) => (Tok::Op("!="), 2),
            ('!', _) => (Tok::Not, 1),
            ('=', Some('=')) => (Tok::Op("="), 2),
            ('=', _) => (Tok::Op("="), 1),
            ('<', Some('=')) => (Tok::Op("<="), 2),
            ('<', _) => (Tok::Op("<"), 1),
            ('>', Some('=')) => (Tok::Op(">="), 2),
            ('>', _) => (Tok::Op(">"), 1),
            (c, _) if is_word_char(c) => {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Word(chars[start..i].iter().collect()),
                    col,
                });
                continue;
            }
            (c, _) => {
                return Err(FilterError::Syntax {
                    col,
                    expected: "a filter term".into(),
                    found: format!("\"{c}\""),
                })
            }
        };
        out.push(Token { tok, col });
        i += len;
    }
    Ok(out)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | ':' | '/' | '-' | '_')
}
