//! INSERT, UPDATE, DELETE and BATCH.

use super::{PResult, Parser};
use crate::ast::{
    Assignment, Batch, BatchKind, BatchStatement, ColumnCondition, Condition, Delete, DeleteTarget,
    InValues, Insert, InsertValues, Term, Update, Using,
};
use crate::lexer::{Symbol, TokenKind};

impl Parser {
    pub(super) fn insert(&mut self) -> PResult<Insert> {
        self.expect_keyword("INSERT")?;
        self.expect_keyword("INTO")?;
        let table = self.qualified_name()?;
        let values = if self.eat_keyword("JSON") {
            let value = self.term()?;
            let mut default_unset = false;
            if self.eat_keyword("DEFAULT") {
                if self.eat_keyword("UNSET") {
                    default_unset = true;
                } else if !self.eat_keyword("NULL") {
                    return Err(self.error("NULL or UNSET"));
                }
            }
            InsertValues::Json {
                value,
                default_unset,
            }
        } else {
            let columns = self.parenthesized(Self::identifier)?;
            self.expect_keyword("VALUES")?;
            if !self.is_symbol(Symbol::LeftParen) {
                return Err(self.error("("));
            }
            let values = self.parenthesized(Self::term)?;
            // Cassandra checks the counts when it prepares the statement and
            // reports an invalid query, not a syntax error; so does the executor.
            InsertValues::Columns { columns, values }
        };
        let if_not_exists = self.eat_keywords(&["IF", "NOT", "EXISTS"])?;
        let using = self.using()?;
        Ok(Insert {
            table,
            values,
            if_not_exists,
            using,
        })
    }

    /// `[USING TTL t AND TIMESTAMP ts]`, either or both, in either order.
    fn using(&mut self) -> PResult<Using> {
        let mut using = Using::default();
        if !self.eat_keyword("USING") {
            return Ok(using);
        }
        loop {
            if self.eat_keyword("TTL") {
                using.ttl = Some(self.term()?);
            } else if self.eat_keyword("TIMESTAMP") {
                using.timestamp_first = using.ttl.is_none();
                using.timestamp = Some(self.term()?);
            } else {
                return Err(self.error("TTL or TIMESTAMP"));
            }
            if !self.eat_keyword("AND") {
                return Ok(using);
            }
        }
    }

    pub(super) fn update(&mut self) -> PResult<Update> {
        self.expect_keyword("UPDATE")?;
        let table = self.qualified_name()?;
        let using = self.using()?;
        self.expect_keyword("SET")?;
        let mut assignments = vec![self.assignment()?];
        while self.eat_symbol(Symbol::Comma) {
            assignments.push(self.assignment()?);
        }
        if !self.is_keyword("WHERE") {
            return Err(self.error("WHERE"));
        }
        let where_clause = self.where_clause()?;
        let condition = self.condition()?;
        Ok(Update {
            table,
            using,
            assignments,
            where_clause,
            condition,
        })
    }

    fn assignment(&mut self) -> PResult<Assignment> {
        let column = self.identifier()?;
        if self.eat_symbol(Symbol::LeftBracket) {
            let key = self.term()?;
            self.expect_symbol(Symbol::RightBracket)?;
            self.expect_symbol(Symbol::Equal)?;
            let value = self.term()?;
            return Ok(Assignment::SetElement { column, key, value });
        }
        if self.eat_symbol(Symbol::Dot) {
            let field = self.identifier()?;
            self.expect_symbol(Symbol::Equal)?;
            let value = self.term()?;
            return Ok(Assignment::SetField {
                column,
                field,
                value,
            });
        }
        if self.eat_symbol(Symbol::PlusEqual) {
            let value = self.term()?;
            return Ok(Assignment::Add { column, value });
        }
        if self.eat_symbol(Symbol::MinusEqual) {
            let value = self.term()?;
            return Ok(Assignment::Subtract { column, value });
        }
        self.expect_symbol(Symbol::Equal)?;
        // `c = c + v` / `c = c - v`: the column again, then an operator.
        if self.is_identifier_at(0)
            && (self.is_symbol_at(1, Symbol::Plus) || self.is_symbol_at(1, Symbol::Minus))
        {
            self.same_column(&column)?;
            let add = self.is_symbol(Symbol::Plus);
            self.advance();
            let value = self.term()?;
            return Ok(if add {
                Assignment::Add { column, value }
            } else {
                Assignment::Subtract { column, value }
            });
        }
        let value = self.term()?;
        if self.eat_symbol(Symbol::Plus) {
            self.same_column(&column)?;
            return Ok(Assignment::Prepend { column, value });
        }
        Ok(Assignment::Set { column, value })
    }

    /// Consumes the identifier in `c = c + v` or `c = v + c`, which must repeat `column`.
    fn same_column(&mut self, column: &str) -> PResult<()> {
        let error = self.error(&format!("{column}, as in {column} = {column} + value"));
        if self.identifier()? == column {
            Ok(())
        } else {
            Err(error)
        }
    }

    /// `[IF EXISTS | IF cond AND ...]`.
    fn condition(&mut self) -> PResult<Option<Condition>> {
        if !self.eat_keyword("IF") {
            return Ok(None);
        }
        // `IF exists = 1` is a condition on a column named `exists`.
        let column_named_exists = self.is_keyword_at(1, "IN")
            || matches!(
                self.peek_at(1),
                TokenKind::Symbol(
                    Symbol::Equal
                        | Symbol::NotEqual
                        | Symbol::Less
                        | Symbol::LessEqual
                        | Symbol::Greater
                        | Symbol::GreaterEqual
                        | Symbol::LeftBracket
                )
            );
        if self.is_keyword("EXISTS") && !column_named_exists {
            self.advance();
            return Ok(Some(Condition::Exists));
        }
        let mut conditions = vec![self.column_condition()?];
        while self.eat_keyword("AND") {
            conditions.push(self.column_condition()?);
        }
        Ok(Some(Condition::Columns(conditions)))
    }

    fn column_condition(&mut self) -> PResult<ColumnCondition> {
        let column = self.identifier()?;
        let element = if self.eat_symbol(Symbol::LeftBracket) {
            let key = self.term()?;
            self.expect_symbol(Symbol::RightBracket)?;
            Some(key)
        } else {
            None
        };
        if self.eat_keyword("IN") {
            let value = match self.in_values()? {
                InValues::Terms(terms) => Term::Tuple(terms),
                InValues::Marker(marker) => Term::BindMarker(marker),
            };
            return Ok(ColumnCondition {
                column,
                element,
                op: None,
                value,
            });
        }
        let op = Some(self.operator()?);
        let value = self.term()?;
        Ok(ColumnCondition {
            column,
            element,
            op,
            value,
        })
    }

    pub(super) fn delete(&mut self) -> PResult<Delete> {
        self.expect_keyword("DELETE")?;
        let mut targets = Vec::new();
        if !self.is_keyword("FROM") {
            targets.push(self.delete_target()?);
            while self.eat_symbol(Symbol::Comma) {
                targets.push(self.delete_target()?);
            }
        }
        self.expect_keyword("FROM")?;
        let table = self.qualified_name()?;
        let using = self.using()?;
        if !self.is_keyword("WHERE") {
            return Err(self.error("WHERE"));
        }
        let where_clause = self.where_clause()?;
        let condition = self.condition()?;
        Ok(Delete {
            targets,
            table,
            using,
            where_clause,
            condition,
        })
    }

    fn delete_target(&mut self) -> PResult<DeleteTarget> {
        let column = self.identifier()?;
        if self.eat_symbol(Symbol::LeftBracket) {
            let key = self.term()?;
            self.expect_symbol(Symbol::RightBracket)?;
            return Ok(DeleteTarget::Element { column, key });
        }
        if self.eat_symbol(Symbol::Dot) {
            let field = self.identifier()?;
            return Ok(DeleteTarget::Field { column, field });
        }
        Ok(DeleteTarget::Column(column))
    }

    pub(super) fn batch(&mut self) -> PResult<Batch> {
        self.expect_keyword("BEGIN")?;
        let kind = if self.eat_keyword("UNLOGGED") {
            BatchKind::Unlogged
        } else if self.eat_keyword("COUNTER") {
            BatchKind::Counter
        } else {
            self.eat_keyword("LOGGED");
            BatchKind::Logged
        };
        self.expect_keyword("BATCH")?;
        let using = self.using()?;
        let mut statements = Vec::new();
        loop {
            while self.eat_symbol(Symbol::Semicolon) {}
            let statement = match self.peek() {
                TokenKind::Keyword("INSERT") => BatchStatement::Insert(self.insert()?),
                TokenKind::Keyword("UPDATE") => BatchStatement::Update(self.update()?),
                TokenKind::Keyword("DELETE") => BatchStatement::Delete(self.delete()?),
                TokenKind::Keyword("APPLY") => break,
                _ => return Err(self.error("INSERT, UPDATE, DELETE or APPLY BATCH")),
            };
            statements.push(statement);
        }
        self.expect_keyword("APPLY")?;
        self.expect_keyword("BATCH")?;
        Ok(Batch {
            kind,
            using,
            statements,
        })
    }
}
