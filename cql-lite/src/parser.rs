//! A hand-written recursive-descent parser from CQL text to a [`Statement`].
//!
//! [`parse`] takes exactly one statement, with an optional trailing `;` (cqlsh keeps it).
//! The grammar is the subset Basalt executes, split by family: `select` for
//! SELECT and WHERE, `dml` for INSERT, UPDATE, DELETE and BATCH, `ddl` for keyspaces,
//! tables, USE and TRUNCATE, `describe` for cqlsh's server-side DESCRIBE, and `terms`
//! for literals, collections, bind markers and type names shared by all of them.
//!
//! Errors carry the position of the offending token and what was expected there; the
//! parser never panics, and nesting (collections in collections, types in types) is
//! capped at [`MAX_NESTING`] levels so hostile input cannot exhaust the stack.

mod ddl;
mod describe;
mod dml;
mod select;
mod terms;

use crate::ast::{QualifiedName, Statement};
pub use crate::lexer::ParseError;
use crate::lexer::{Symbol, Token, TokenKind, tokenize};

/// How deep terms, types and selectors may nest.
pub const MAX_NESTING: usize = 64;

/// Parses one CQL statement; a trailing `;` is allowed.
pub fn parse(input: &str) -> Result<Statement, ParseError> {
    let mut parser = Parser {
        tokens: tokenize(input)?,
        pos: 0,
        depth: 0,
    };
    let statement = parser.statement()?;
    parser.eat_symbol(Symbol::Semicolon);
    if !matches!(parser.peek(), TokenKind::Eof) {
        return Err(parser.error("end of statement"));
    }
    Ok(statement)
}

/// The parser's cursor over the token list, which always ends with [`TokenKind::Eof`].
struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

type PResult<T> = Result<T, ParseError>;

impl Parser {
    fn token_at(&self, ahead: usize) -> Option<&Token> {
        self.tokens
            .get(self.pos + ahead)
            .or_else(|| self.tokens.last())
    }

    fn peek(&self) -> &TokenKind {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &TokenKind {
        self.token_at(ahead).map_or(&TokenKind::Eof, |t| &t.kind)
    }

    fn advance(&mut self) -> TokenKind {
        let kind = self.peek().clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        kind
    }

    /// An error at the current token.
    fn error(&self, expected: &str) -> ParseError {
        let (line, column, found) = match self.token_at(0) {
            Some(t) => (t.line, t.column, t.kind.describe()),
            None => (1, 0, TokenKind::Eof.describe()),
        };
        ParseError {
            line,
            column,
            expected: expected.to_owned(),
            found,
        }
    }

    /// Whether the token `ahead` is keyword `kw` (reserved or not, any case).
    fn is_keyword_at(&self, ahead: usize, kw: &str) -> bool {
        match self.peek_at(ahead) {
            TokenKind::Keyword(k) => *k == kw,
            TokenKind::Identifier(word) => word.eq_ignore_ascii_case(kw),
            _ => false,
        }
    }

    fn is_keyword(&self, kw: &str) -> bool {
        self.is_keyword_at(0, kw)
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        let found = self.is_keyword(kw);
        if found {
            self.advance();
        }
        found
    }

    fn expect_keyword(&mut self, kw: &str) -> PResult<()> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            Err(self.error(kw))
        }
    }

    /// Eats a keyword sequence such as `IF NOT EXISTS` if it is there. Once the first
    /// word matched, the rest are required.
    fn eat_keywords(&mut self, words: &[&str]) -> PResult<bool> {
        let Some((first, rest)) = words.split_first() else {
            return Ok(false);
        };
        if !self.eat_keyword(first) {
            return Ok(false);
        }
        for word in rest {
            self.expect_keyword(word)?;
        }
        Ok(true)
    }

    fn is_symbol_at(&self, ahead: usize, symbol: Symbol) -> bool {
        matches!(self.peek_at(ahead), TokenKind::Symbol(s) if *s == symbol)
    }

    fn is_symbol(&self, symbol: Symbol) -> bool {
        self.is_symbol_at(0, symbol)
    }

    fn eat_symbol(&mut self, symbol: Symbol) -> bool {
        let found = self.is_symbol(symbol);
        if found {
            self.advance();
        }
        found
    }

    fn expect_symbol(&mut self, symbol: Symbol) -> PResult<()> {
        if self.eat_symbol(symbol) {
            Ok(())
        } else {
            Err(self.error(symbol.as_str()))
        }
    }

    /// Whether the token `ahead` can be an identifier.
    fn is_identifier_at(&self, ahead: usize) -> bool {
        matches!(
            self.peek_at(ahead),
            TokenKind::Identifier(_) | TokenKind::QuotedIdentifier(_)
        )
    }

    /// An identifier, lower-cased unless quoted.
    fn identifier(&mut self) -> PResult<String> {
        match self.peek() {
            TokenKind::Identifier(word) => {
                let word = word.to_ascii_lowercase();
                self.advance();
                Ok(word)
            }
            TokenKind::QuotedIdentifier(word) => {
                let word = word.clone();
                self.advance();
                Ok(word)
            }
            _ => Err(self.error("an identifier")),
        }
    }

    /// `name` or `ks.name`.
    fn qualified_name(&mut self) -> PResult<QualifiedName> {
        let first = self.identifier()?;
        if self.eat_symbol(Symbol::Dot) {
            let name = self.identifier()?;
            Ok(QualifiedName {
                keyspace: Some(first),
                name,
            })
        } else {
            Ok(QualifiedName {
                keyspace: None,
                name: first,
            })
        }
    }

    /// `( item, item, ... )`, at least one item.
    fn parenthesized<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.expect_symbol(Symbol::LeftParen)?;
        let mut items = vec![item(self)?];
        while self.eat_symbol(Symbol::Comma) {
            items.push(item(self)?);
        }
        self.expect_symbol(Symbol::RightParen)?;
        Ok(items)
    }

    /// Runs `f` one nesting level deeper, refusing to pass [`MAX_NESTING`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_NESTING {
            return Err(self.error("nesting no deeper than 64 levels"));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn statement(&mut self) -> PResult<Statement> {
        match self.peek() {
            TokenKind::Keyword("SELECT") => self.select().map(Statement::Select),
            TokenKind::Keyword("INSERT") => self.insert().map(Statement::Insert),
            TokenKind::Keyword("UPDATE") => self.update().map(Statement::Update),
            TokenKind::Keyword("DELETE") => self.delete().map(Statement::Delete),
            TokenKind::Keyword("BEGIN") => self.batch().map(Statement::Batch),
            TokenKind::Keyword("USE") => {
                self.advance();
                self.identifier().map(Statement::Use)
            }
            TokenKind::Keyword("TRUNCATE") => self.truncate(),
            TokenKind::Keyword("CREATE") => self.create(),
            TokenKind::Keyword("ALTER") => self.alter(),
            TokenKind::Keyword("DROP") => self.drop_statement(),
            TokenKind::Keyword("DESCRIBE" | "DESC") => self.describe().map(Statement::Describe),
            _ => Err(self.error(
                "SELECT, INSERT, UPDATE, DELETE, BEGIN, USE, TRUNCATE, CREATE, ALTER, DROP or DESCRIBE",
            )),
        }
    }
}
