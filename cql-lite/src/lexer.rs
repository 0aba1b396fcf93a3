//! The CQL lexer: statement text to [`Token`]s, each with its line and column.
//!
//! - Unquoted words are [`TokenKind::Keyword`] when CQL reserves them (matched without
//!   regard to case, stored upper-case) and [`TokenKind::Identifier`] otherwise, spelled
//!   as written; the parser matches non-reserved keywords (`KEYSPACES`, `TTL`, ...) by
//!   comparing identifiers case-insensitively, as Cassandra does.
//! - `"Quoted"` identifiers keep their case; `""` inside stands for one `"`.
//! - `'strings'` use `''` for a quote; `$$pg-style$$` strings take their body verbatim.
//! - Numbers stay as text (a `varint` may not fit any machine integer): integers, floats
//!   with a fraction and/or exponent, durations such as `1h30m` or `-`-less `2mo5d`, uuids
//!   and `0x` blobs. A leading `-` is a separate [`Symbol::Minus`]; the parser folds it
//!   into the literal. `NaN` and `Infinity` are reserved keywords.
//! - `?` is [`Symbol::QuestionMark`]; `:name` is [`Symbol::Colon`] then a name, because a
//!   colon also separates map keys from values and the parser knows which it is.
//! - `--` and `//` comment to the end of the line, `/* */` across lines (not nested).
//!
//! Columns are 0-based and lines 1-based, as Cassandra reports them (`line 1:14`).

use std::fmt;

/// One lexical token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// 1-based line of the token's first character.
    pub line: u32,
    /// 0-based column (in characters) of the token's first character.
    pub column: u32,
}

/// The kinds of CQL tokens.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// A reserved keyword, upper-cased (`SELECT`, `FROM`, `NAN`, ...).
    Keyword(&'static str),
    /// An unquoted identifier or non-reserved keyword, as written.
    Identifier(String),
    /// A `"double-quoted"` identifier with `""` unescaped; case is significant.
    QuotedIdentifier(String),
    /// A `'single-quoted'` or `$$dollar-quoted$$` string, unescaped.
    String(String),
    /// Decimal digits, without sign.
    Integer(String),
    /// A number with a fraction and/or an exponent, without sign.
    Float(String),
    /// `true` or `false`, in any case.
    Boolean(bool),
    /// A uuid literal, lower-cased.
    Uuid(String),
    /// A `0x` blob literal's bytes.
    Blob(Vec<u8>),
    /// A duration literal without sign: unit form (`1h30m`) lower-cased, or ISO 8601
    /// designator form (`P1DT2H`, `P2W`) upper-cased.
    Duration(String),
    /// Operators and punctuation.
    Symbol(Symbol),
    /// End of input; the lexer always ends the token list with it.
    Eof,
}

/// Operators and punctuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(missing_docs, reason = "the names say what they are")]
pub enum Symbol {
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    LeftBrace,
    RightBrace,
    Comma,
    Semicolon,
    Dot,
    Colon,
    QuestionMark,
    Star,
    Plus,
    Minus,
    Slash,
    Percent,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    PlusEqual,
    MinusEqual,
}

impl Symbol {
    /// The symbol as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Symbol::LeftParen => "(",
            Symbol::RightParen => ")",
            Symbol::LeftBracket => "[",
            Symbol::RightBracket => "]",
            Symbol::LeftBrace => "{",
            Symbol::RightBrace => "}",
            Symbol::Comma => ",",
            Symbol::Semicolon => ";",
            Symbol::Dot => ".",
            Symbol::Colon => ":",
            Symbol::QuestionMark => "?",
            Symbol::Star => "*",
            Symbol::Plus => "+",
            Symbol::Minus => "-",
            Symbol::Slash => "/",
            Symbol::Percent => "%",
            Symbol::Equal => "=",
            Symbol::NotEqual => "!=",
            Symbol::Less => "<",
            Symbol::LessEqual => "<=",
            Symbol::Greater => ">",
            Symbol::GreaterEqual => ">=",
            Symbol::PlusEqual => "+=",
            Symbol::MinusEqual => "-=",
        }
    }
}

/// CQL's reserved keywords (Cassandra's CQL reference, appendix A). Anything else
/// unquoted is an identifier, even where it acts as a keyword.
pub const RESERVED_KEYWORDS: &[&str] = &[
    "ADD",
    "ALLOW",
    "ALTER",
    "AND",
    "APPLY",
    "ASC",
    "AUTHORIZE",
    "BATCH",
    "BEGIN",
    "BY",
    "COLUMNFAMILY",
    "CREATE",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DROP",
    "ENTRIES",
    "EXECUTE",
    "FROM",
    "FULL",
    "GRANT",
    "IF",
    "IN",
    "INDEX",
    "INFINITY",
    "INSERT",
    "INTO",
    "KEYSPACE",
    "LIMIT",
    "MODIFY",
    "NAN",
    "NORECURSIVE",
    "NOT",
    "NULL",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "PRIMARY",
    "RENAME",
    "REPLACE",
    "REVOKE",
    "SCHEMA",
    "SELECT",
    "SET",
    "TABLE",
    "TO",
    "TOKEN",
    "TRUNCATE",
    "UNLOGGED",
    "UPDATE",
    "USE",
    "USING",
    "VIEW",
    "WHERE",
    "WITH",
];

/// The reserved keyword `word` spells, if any.
pub fn reserved_keyword(word: &str) -> Option<&'static str> {
    RESERVED_KEYWORDS
        .iter()
        .copied()
        .find(|k| k.eq_ignore_ascii_case(word))
}

/// Cassandra's reserved words as its schema printer knows them: identifiers spelled
/// like them must be quoted. A few more than [`RESERVED_KEYWORDS`] (`default`,
/// `unset`...), as in Cassandra.
const QUOTED_WORDS: [&str; 62] = [
    "add",
    "allow",
    "alter",
    "and",
    "apply",
    "asc",
    "authorize",
    "batch",
    "begin",
    "by",
    "columnfamily",
    "create",
    "default",
    "delete",
    "desc",
    "describe",
    "drop",
    "entries",
    "execute",
    "from",
    "full",
    "grant",
    "if",
    "in",
    "index",
    "infinity",
    "insert",
    "into",
    "is",
    "keyspace",
    "limit",
    "materialized",
    "mbean",
    "mbeans",
    "modify",
    "nan",
    "norecursive",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "primary",
    "rename",
    "replace",
    "revoke",
    "schema",
    "select",
    "set",
    "table",
    "to",
    "token",
    "truncate",
    "unlogged",
    "unset",
    "update",
    "use",
    "using",
    "view",
    "where",
    "with",
];

/// An identifier as CQL must spell it: bare if it reads back the same.
pub fn quote_identifier(name: &str) -> String {
    let bare = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !QUOTED_WORDS.contains(&name);
    if bare {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

impl TokenKind {
    /// The token as it reads in an error message (`'FORM'`, `<EOF>`).
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Keyword(k) => (*k).to_owned(),
            TokenKind::Identifier(s) | TokenKind::Integer(s) | TokenKind::Float(s) => s.clone(),
            TokenKind::Duration(s) | TokenKind::Uuid(s) => s.clone(),
            TokenKind::QuotedIdentifier(s) => format!("\"{}\"", s.replace('"', "\"\"")),
            TokenKind::String(s) => format!("'{}'", s.replace('\'', "''")),
            TokenKind::Boolean(b) => b.to_string(),
            TokenKind::Blob(b) => {
                let mut out = String::from("0x");
                for byte in b {
                    out.push_str(&format!("{byte:02x}"));
                }
                out
            }
            TokenKind::Symbol(s) => s.as_str().to_owned(),
            TokenKind::Eof => "<EOF>".to_owned(),
        }
    }
}

/// Why a statement did not parse, and where: the lexer and the parser both report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of the offending token.
    pub line: u32,
    /// 0-based column of the offending token, as Cassandra reports it.
    pub column: u32,
    /// What would have been valid there.
    pub expected: String,
    /// The offending token as written, or `<EOF>`.
    pub found: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}:{} no viable alternative at input '{}' (expected {})",
            self.line, self.column, self.found, self.expected
        )
    }
}

impl std::error::Error for ParseError {}

/// Splits `input` into tokens, ending with [`TokenKind::Eof`].
pub fn tokenize(input: &str) -> Result<Vec<Token>, ParseError> {
    let mut lexer = Lexer {
        chars: input.chars().collect(),
        pos: 0,
        start: 0,
        line: 1,
        column: 0,
    };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let end = token.kind == TokenKind::Eof;
        tokens.push(token);
        if end {
            return Ok(tokens);
        }
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    /// Where the token being lexed starts.
    start: usize,
    line: u32,
    column: u32,
}

/// Whether a word is an ISO 8601 duration with designators, `P[n]Y[n]M[n]DT[n]H[n]M[n]S`
/// or `P[n]W`, as Cassandra's lexer reads it (its DURATION rule comes before IDENT). A
/// lone `P` or `PT` needs at least one designator to be a duration, so it stays a name.
fn is_iso_duration(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    let Some(rest) = upper.strip_prefix('P') else {
        return false;
    };
    let designated = |text: &str, order: &str| -> Option<usize> {
        let (mut text, mut order, mut count) = (text, order, 0);
        while !text.is_empty() {
            let digits = text.bytes().take_while(u8::is_ascii_digit).count();
            let designator = text[digits..].chars().next()?;
            let at = order.find(designator)?;
            if digits == 0 {
                return None;
            }
            order = &order[at + 1..];
            text = &text[digits + 1..];
            count += 1;
        }
        Some(count)
    };
    if let Some(weeks) = rest.strip_suffix('W') {
        return !weeks.is_empty() && weeks.bytes().all(|b| b.is_ascii_digit());
    }
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    match (designated(date, "YMD"), designated(time, "HMS")) {
        (Some(d), Some(t)) => d + t > 0,
        _ => false,
    }
}

const DURATION_UNITS: [&str; 11] = ["mo", "ms", "us", "µs", "ns", "y", "w", "d", "h", "m", "s"];

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += 1;
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.column = 0;
        } else {
            self.column = self.column.saturating_add(1);
        }
        Some(c)
    }

    fn bump_n(&mut self, n: usize) {
        for _ in 0..n {
            self.bump();
        }
    }

    fn error(&self, line: u32, column: u32, expected: &str, found: String) -> ParseError {
        ParseError {
            line,
            column,
            expected: expected.to_owned(),
            found,
        }
    }

    /// Skips whitespace and comments.
    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('-'), Some('-')) | (Some('/'), Some('/')) => {
                    while let Some(c) = self.peek(0) {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) => {
                    let (line, column) = (self.line, self.column);
                    self.bump_n(2);
                    loop {
                        match (self.peek(0), self.peek(1)) {
                            (Some('*'), Some('/')) => {
                                self.bump_n(2);
                                break;
                            }
                            (Some(_), _) => {
                                self.bump();
                            }
                            (None, _) => {
                                return Err(self.error(line, column, "*/", "<EOF>".to_owned()));
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn next_token(&mut self) -> Result<Token, ParseError> {
        self.skip_trivia()?;
        let (line, column) = (self.line, self.column);
        self.start = self.pos;
        let kind = self.token_kind(line, column)?;
        Ok(Token { kind, line, column })
    }

    fn token_kind(&mut self, line: u32, column: u32) -> Result<TokenKind, ParseError> {
        let Some(c) = self.peek(0) else {
            return Ok(TokenKind::Eof);
        };
        if let Some(uuid) = self.uuid_at() {
            self.bump_n(36);
            return Ok(TokenKind::Uuid(uuid));
        }
        if c == '0' && matches!(self.peek(1), Some('x' | 'X')) {
            return self.blob(line, column);
        }
        if c.is_ascii_digit() {
            return self.number(line, column);
        }
        if c.is_ascii_alphabetic() {
            let start = self.pos;
            while self.peek(0).is_some_and(is_ident_char) {
                self.bump();
            }
            let word: String = self.chars[start..self.pos].iter().collect();
            if let Some(keyword) = reserved_keyword(&word) {
                return Ok(TokenKind::Keyword(keyword));
            }
            if is_iso_duration(&word) {
                return Ok(TokenKind::Duration(word.to_ascii_uppercase()));
            }
            if word.eq_ignore_ascii_case("true") {
                return Ok(TokenKind::Boolean(true));
            }
            if word.eq_ignore_ascii_case("false") {
                return Ok(TokenKind::Boolean(false));
            }
            return Ok(TokenKind::Identifier(word));
        }
        match c {
            '"' => self
                .quoted(line, column, '"')
                .map(TokenKind::QuotedIdentifier),
            '\'' => self.quoted(line, column, '\'').map(TokenKind::String),
            '$' if self.peek(1) == Some('$') => self.dollar_string(line, column),
            _ => self.symbol(line, column),
        }
    }

    fn symbol(&mut self, line: u32, column: u32) -> Result<TokenKind, ParseError> {
        let next = self.peek(1);
        let (symbol, len) = match (self.peek(0), next) {
            (Some('!'), Some('=')) => (Symbol::NotEqual, 2),
            (Some('<'), Some('=')) => (Symbol::LessEqual, 2),
            (Some('>'), Some('=')) => (Symbol::GreaterEqual, 2),
            (Some('+'), Some('=')) => (Symbol::PlusEqual, 2),
            (Some('-'), Some('=')) => (Symbol::MinusEqual, 2),
            (Some('('), _) => (Symbol::LeftParen, 1),
            (Some(')'), _) => (Symbol::RightParen, 1),
            (Some('['), _) => (Symbol::LeftBracket, 1),
            (Some(']'), _) => (Symbol::RightBracket, 1),
            (Some('{'), _) => (Symbol::LeftBrace, 1),
            (Some('}'), _) => (Symbol::RightBrace, 1),
            (Some(','), _) => (Symbol::Comma, 1),
            (Some(';'), _) => (Symbol::Semicolon, 1),
            (Some('.'), _) => (Symbol::Dot, 1),
            (Some(':'), _) => (Symbol::Colon, 1),
            (Some('?'), _) => (Symbol::QuestionMark, 1),
            (Some('*'), _) => (Symbol::Star, 1),
            (Some('+'), _) => (Symbol::Plus, 1),
            (Some('-'), _) => (Symbol::Minus, 1),
            (Some('/'), _) => (Symbol::Slash, 1),
            (Some('%'), _) => (Symbol::Percent, 1),
            (Some('='), _) => (Symbol::Equal, 1),
            (Some('<'), _) => (Symbol::Less, 1),
            (Some('>'), _) => (Symbol::Greater, 1),
            (found, _) => {
                let found = found.map_or_else(|| "<EOF>".to_owned(), String::from);
                return Err(self.error(line, column, "a token", found));
            }
        };
        self.bump_n(len);
        Ok(TokenKind::Symbol(symbol))
    }

    /// A uuid starting here, if the next 36 characters spell one and no identifier
    /// character follows.
    fn uuid_at(&self) -> Option<String> {
        let text: String = self.chars.get(self.pos..self.pos + 36)?.iter().collect();
        let ok = text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
        let boundary = !self.peek(36).is_some_and(is_ident_char);
        (ok && boundary).then(|| text.to_ascii_lowercase())
    }

    fn blob(&mut self, line: u32, column: u32) -> Result<TokenKind, ParseError> {
        self.bump_n(2);
        let mut hex = Vec::new();
        while let Some(c) = self.peek(0).filter(|c| c.is_ascii_hexdigit()) {
            hex.push(c);
            self.bump();
        }
        if self.peek(0).is_some_and(is_ident_char) || hex.len() % 2 == 1 {
            let found = self.rest_of_word(line, column);
            return Err(self.error(line, column, "an even number of hex digits", found));
        }
        let bytes = hex
            .chunks(2)
            .map(|pair| {
                let digit = |c: char| c.to_digit(16).unwrap_or(0) as u8;
                (digit(pair[0]) << 4) | digit(pair[1])
            })
            .collect();
        Ok(TokenKind::Blob(bytes))
    }

    /// The malformed literal being lexed, through the end of its word, for errors.
    fn rest_of_word(&mut self, _line: u32, _column: u32) -> String {
        while self.peek(0).is_some_and(|c| is_ident_char(c) || c == 'µ') {
            self.bump();
        }
        self.chars[self.start..self.pos].iter().collect()
    }

    fn digits(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek(0).filter(char::is_ascii_digit) {
            out.push(c);
            self.bump();
        }
        out
    }

    fn number(&mut self, line: u32, column: u32) -> Result<TokenKind, ParseError> {
        let mut text = self.digits();
        let mut float = false;
        if self.peek(0) == Some('.') && self.peek(1).is_none_or(|c| !c.is_ascii_alphabetic()) {
            self.bump();
            text.push('.');
            text.push_str(&self.digits());
            float = true;
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = matches!(self.peek(1), Some('+' | '-'));
            let digit_at = if sign { 2 } else { 1 };
            if self.peek(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                for _ in 0..digit_at {
                    if let Some(c) = self.bump() {
                        text.push(c);
                    }
                }
                text.push_str(&self.digits());
                float = true;
            }
        }
        let letter_follows = self.peek(0).is_some_and(|c| c.is_alphabetic() || c == '_');
        if float {
            if letter_follows {
                let found = self.rest_of_word(line, column);
                return Err(self.error(line, column, "a number", found));
            }
            return Ok(TokenKind::Float(text));
        }
        if !letter_follows {
            return Ok(TokenKind::Integer(text));
        }
        self.duration(text, line, column)
    }

    /// Continues a unit-form duration after its first run of digits.
    fn duration(
        &mut self,
        mut text: String,
        line: u32,
        column: u32,
    ) -> Result<TokenKind, ParseError> {
        loop {
            let unit = DURATION_UNITS.iter().find(|unit| {
                unit.chars()
                    .enumerate()
                    .all(|(i, u)| self.peek(i).is_some_and(|c| c.to_ascii_lowercase() == u))
            });
            let Some(unit) = unit else {
                let found = self.rest_of_word(line, column);
                return Err(self.error(line, column, "a duration unit", found));
            };
            self.bump_n(unit.chars().count());
            text.push_str(unit);
            if !self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                break;
            }
            text.push_str(&self.digits());
        }
        if self.peek(0).is_some_and(|c| is_ident_char(c) || c == '.') {
            let found = self.rest_of_word(line, column);
            return Err(self.error(line, column, "a duration", found));
        }
        Ok(TokenKind::Duration(text))
    }

    /// A string or identifier between `quote`s, a doubled quote standing for one.
    fn quoted(&mut self, line: u32, column: u32, quote: char) -> Result<String, ParseError> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                Some(c) if c == quote => {
                    if self.peek(0) == Some(quote) {
                        self.bump();
                        out.push(quote);
                    } else {
                        return Ok(out);
                    }
                }
                Some(c) => out.push(c),
                None => {
                    let expected = if quote == '"' {
                        "a closing \""
                    } else {
                        "a closing '"
                    };
                    return Err(self.error(line, column, expected, "<EOF>".to_owned()));
                }
            }
        }
    }

    fn dollar_string(&mut self, line: u32, column: u32) -> Result<TokenKind, ParseError> {
        self.bump_n(2);
        let mut out = String::new();
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some('$'), Some('$')) => {
                    self.bump_n(2);
                    return Ok(TokenKind::String(out));
                }
                (Some(c), _) => {
                    out.push(c);
                    self.bump();
                }
                (None, _) => return Err(self.error(line, column, "a closing $$", "<EOF>".into())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind> {
        tokenize(input)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn iso_durations_are_literals_and_p_stays_a_name() {
        use TokenKind::*;
        assert_eq!(
            kinds("P1Y2M3DT4H5M6S pt1h P2W p pt P1H P1W2D"),
            vec![
                Duration("P1Y2M3DT4H5M6S".into()),
                Duration("PT1H".into()),
                Duration("P2W".into()),
                Identifier("p".into()),
                Identifier("pt".into()),
                Identifier("P1H".into()),
                Identifier("P1W2D".into()),
                Eof,
            ]
        );
    }

    #[test]
    fn literals() {
        use TokenKind::*;
        assert_eq!(
            kinds("12 1.5 2e3 1.5E-3 1h30m 2mo1d 3µs 0xCAFE 'it''s' $$a'b$$ tRuE"),
            vec![
                Integer("12".into()),
                Float("1.5".into()),
                Float("2e3".into()),
                Float("1.5E-3".into()),
                Duration("1h30m".into()),
                Duration("2mo1d".into()),
                Duration("3µs".into()),
                Blob(vec![0xca, 0xfe]),
                String("it's".into()),
                String("a'b".into()),
                Boolean(true),
                Eof,
            ]
        );
        assert_eq!(
            kinds("550E8400-e29b-41d4-a716-446655440000 \"My\"\"Col\" select Foo"),
            vec![
                Uuid("550e8400-e29b-41d4-a716-446655440000".into()),
                QuotedIdentifier("My\"Col".into()),
                Keyword("SELECT"),
                Identifier("Foo".into()),
                Eof,
            ]
        );
    }

    #[test]
    fn positions_and_comments() {
        let tokens = tokenize("-- c\nSELECT /* x\n y */ a // z\n, b").unwrap();
        let at: Vec<(u32, u32)> = tokens.iter().map(|t| (t.line, t.column)).collect();
        assert_eq!(at, vec![(2, 0), (3, 6), (4, 0), (4, 2), (4, 3)]);
    }

    #[test]
    fn errors() {
        assert!(tokenize("'open").is_err());
        assert!(tokenize("0xabc").is_err());
        assert!(tokenize("12abc").is_err());
        assert!(tokenize("/* open").is_err());
        assert!(tokenize("a @ b").is_err());
    }

    #[test]
    fn identifiers_are_quoted_when_cql_needs_it() {
        assert_eq!(quote_identifier("abc_1"), "abc_1");
        assert_eq!(quote_identifier("Abc"), "\"Abc\"");
        assert_eq!(quote_identifier("select"), "\"select\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
