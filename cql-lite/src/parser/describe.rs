//! `DESCRIBE`/`DESC`, which cqlsh 6 sends to the server instead of answering locally.

use super::{PResult, Parser};
use crate::ast::Describe;
use crate::lexer::{Symbol, TokenKind};

impl Parser {
    pub(super) fn describe(&mut self) -> PResult<Describe> {
        if !self.eat_keyword("DESCRIBE") {
            self.expect_keyword("DESC")?;
        }
        // A plural word at the end is the listing, otherwise it may be an object's name.
        let last =
            matches!(self.peek_at(1), TokenKind::Eof) || self.is_symbol_at(1, Symbol::Semicolon);
        if last {
            for (word, describe) in [
                ("CLUSTER", Describe::Cluster),
                ("KEYSPACES", Describe::Keyspaces),
                ("TABLES", Describe::Tables),
                ("TYPES", Describe::Types),
                ("FUNCTIONS", Describe::Functions),
                ("AGGREGATES", Describe::Aggregates),
            ] {
                if self.eat_keyword(word) {
                    return Ok(describe);
                }
            }
        }
        if self.eat_keyword("FULL") {
            self.expect_keyword("SCHEMA")?;
            return Ok(Describe::Schema { full: true });
        }
        if self.eat_keyword("SCHEMA") {
            return Ok(Describe::Schema { full: false });
        }
        let only = self.is_keyword("ONLY") && self.is_keyword_at(1, "KEYSPACE");
        if only {
            self.advance();
        }
        if self.eat_keyword("KEYSPACE") {
            let name = if self.is_identifier_at(0) && !self.is_keyword("WITH") {
                Some(self.identifier()?)
            } else {
                None
            };
            let with_internals = self.with_internals()?;
            return Ok(Describe::Keyspace {
                name,
                only,
                with_internals,
            });
        }
        if self.eat_keyword("TABLE") || self.eat_keyword("COLUMNFAMILY") {
            let name = self.qualified_name()?;
            let with_internals = self.with_internals()?;
            return Ok(Describe::Table {
                name,
                with_internals,
            });
        }
        if !self.is_identifier_at(0) {
            return Err(self.error(
                "CLUSTER, SCHEMA, KEYSPACES, KEYSPACE, TABLES, TABLE, TYPES, FUNCTIONS, AGGREGATES or a name",
            ));
        }
        let name = self.qualified_name()?;
        let with_internals = self.with_internals()?;
        Ok(Describe::Name {
            name,
            with_internals,
        })
    }

    fn with_internals(&mut self) -> PResult<bool> {
        self.eat_keywords(&["WITH", "INTERNALS"])
    }
}
