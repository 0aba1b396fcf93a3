//! SELECT, its selectors, and the WHERE relations UPDATE and DELETE share.

use super::{PResult, Parser};
use crate::ast::{
    InValues, Operator, Ordering, Relation, RelationTarget, Select, Selection, Selector,
    SelectorExpr,
};
use crate::lexer::{Symbol, TokenKind};

impl Parser {
    pub(super) fn select(&mut self) -> PResult<Select> {
        self.expect_keyword("SELECT")?;
        let json = self.select_modifier("JSON");
        let distinct = self.select_modifier("DISTINCT");
        let selection = if self.eat_symbol(Symbol::Star) {
            Selection::Wildcard
        } else {
            let mut selectors = vec![self.selector()?];
            while self.eat_symbol(Symbol::Comma) {
                selectors.push(self.selector()?);
            }
            Selection::Selectors(selectors)
        };
        self.expect_keyword("FROM")?;
        let table = self.qualified_name()?;
        let where_clause = self.where_clause()?;
        let mut group_by = Vec::new();
        if self.eat_keywords(&["GROUP", "BY"])? {
            group_by.push(self.identifier()?);
            while self.eat_symbol(Symbol::Comma) {
                group_by.push(self.identifier()?);
            }
        }
        let mut order_by = Vec::new();
        if self.eat_keywords(&["ORDER", "BY"])? {
            order_by.push(self.ordering()?);
            while self.eat_symbol(Symbol::Comma) {
                order_by.push(self.ordering()?);
            }
        }
        let per_partition_limit = if self.eat_keywords(&["PER", "PARTITION", "LIMIT"])? {
            Some(self.term()?)
        } else {
            None
        };
        let limit = if self.eat_keyword("LIMIT") {
            Some(self.term()?)
        } else {
            None
        };
        let allow_filtering = self.eat_keywords(&["ALLOW", "FILTERING"])?;
        Ok(Select {
            json,
            distinct,
            selection,
            table,
            where_clause,
            group_by,
            order_by,
            per_partition_limit,
            limit,
            allow_filtering,
        })
    }

    /// `JSON` or `DISTINCT` after SELECT, unless it is a column of that name.
    fn select_modifier(&mut self, word: &str) -> bool {
        let is_column = self.is_symbol_at(1, Symbol::Comma)
            || self.is_keyword_at(1, "FROM")
            || self.is_keyword_at(1, "AS");
        !is_column && self.eat_keyword(word)
    }

    /// `column [ASC|DESC]`.
    pub(super) fn ordering(&mut self) -> PResult<Ordering> {
        let column = self.identifier()?;
        let descending = if self.eat_keyword("DESC") {
            true
        } else {
            self.eat_keyword("ASC");
            false
        };
        Ok(Ordering { column, descending })
    }

    fn selector(&mut self) -> PResult<Selector> {
        let expr = self.selector_expr()?;
        let alias = if self.eat_keyword("AS") {
            Some(self.identifier()?)
        } else {
            None
        };
        Ok(Selector { expr, alias })
    }

    fn selector_expr(&mut self) -> PResult<SelectorExpr> {
        self.nested(Self::selector_expr_inner)
    }

    fn selector_expr_inner(&mut self) -> PResult<SelectorExpr> {
        if self.is_keyword("CAST") && self.is_symbol_at(1, Symbol::LeftParen) {
            self.advance();
            self.advance();
            let inner = self.selector_expr()?;
            self.expect_keyword("AS")?;
            let ty = self.type_name()?;
            self.expect_symbol(Symbol::RightParen)?;
            return Ok(SelectorExpr::Cast(Box::new(inner), ty));
        }
        if self.at_function_call() {
            let name = self.function_name()?;
            self.expect_symbol(Symbol::LeftParen)?;
            if name.keyspace.is_none() {
                match name.name.as_str() {
                    "count" => {
                        let one = matches!(self.peek(), TokenKind::Integer(n) if n == "1");
                        if (one || self.is_symbol(Symbol::Star))
                            && self.is_symbol_at(1, Symbol::RightParen)
                        {
                            self.advance();
                            self.advance();
                            return Ok(SelectorExpr::CountRows);
                        }
                    }
                    "writetime" | "ttl" => {
                        let column = self.identifier()?;
                        self.expect_symbol(Symbol::RightParen)?;
                        return Ok(if name.name == "ttl" {
                            SelectorExpr::Ttl(column)
                        } else {
                            SelectorExpr::WriteTime(column)
                        });
                    }
                    _ => {}
                }
            }
            let mut args = Vec::new();
            if !self.eat_symbol(Symbol::RightParen) {
                args.push(self.selector_expr()?);
                while self.eat_symbol(Symbol::Comma) {
                    args.push(self.selector_expr()?);
                }
                self.expect_symbol(Symbol::RightParen)?;
            }
            return Ok(SelectorExpr::Function { name, args });
        }
        if self.is_identifier_at(0) {
            return self.identifier().map(SelectorExpr::Column);
        }
        match self.term() {
            Ok(term) => Ok(SelectorExpr::Term(term)),
            Err(_) => Err(self.error("a selector")),
        }
    }

    /// `[WHERE relation AND ...]`.
    pub(super) fn where_clause(&mut self) -> PResult<Vec<Relation>> {
        let mut relations = Vec::new();
        if self.eat_keyword("WHERE") {
            relations.push(self.relation()?);
            while self.eat_keyword("AND") {
                relations.push(self.relation()?);
            }
        }
        Ok(relations)
    }

    fn relation(&mut self) -> PResult<Relation> {
        let target = if self.is_symbol(Symbol::LeftParen) {
            RelationTarget::Tuple(self.parenthesized(Self::identifier)?)
        } else if self.eat_keyword("TOKEN") {
            RelationTarget::Token(self.parenthesized(Self::identifier)?)
        } else {
            let column = self.identifier()?;
            if self.eat_keyword("CONTAINS") {
                // A value is never a bare word, so `KEY` here is the keyword unless it
                // names a function.
                let key = self.is_keyword("KEY") && !self.is_symbol_at(1, Symbol::LeftParen);
                if key {
                    self.advance();
                }
                let value = self.term()?;
                return Ok(Relation::Contains { column, key, value });
            }
            RelationTarget::Column(column)
        };
        if self.eat_keyword("IN") {
            let values = self.in_values()?;
            return Ok(Relation::In { target, values });
        }
        let op = self.operator()?;
        let value = self.term()?;
        Ok(Relation::Compare { target, op, value })
    }

    /// The right-hand side of `IN`: `?`, `:name` or `(terms)`.
    pub(super) fn in_values(&mut self) -> PResult<InValues> {
        if let Some(marker) = self.bind_marker()? {
            return Ok(InValues::Marker(marker));
        }
        if !self.eat_symbol(Symbol::LeftParen) {
            return Err(self.error("( or a bind marker"));
        }
        Ok(InValues::Terms(self.terms_until(Symbol::RightParen)?))
    }

    pub(super) fn operator(&mut self) -> PResult<Operator> {
        let op = match self.peek() {
            TokenKind::Symbol(Symbol::Equal) => Operator::Eq,
            TokenKind::Symbol(Symbol::NotEqual) => Operator::NotEq,
            TokenKind::Symbol(Symbol::Less) => Operator::Lt,
            TokenKind::Symbol(Symbol::LessEqual) => Operator::LtEq,
            TokenKind::Symbol(Symbol::Greater) => Operator::Gt,
            TokenKind::Symbol(Symbol::GreaterEqual) => Operator::GtEq,
            _ => return Err(self.error("an operator (=, !=, <, <=, >, >=, IN)")),
        };
        self.advance();
        Ok(op)
    }
}
