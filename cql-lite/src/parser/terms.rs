//! Terms (literals, collections, tuples, bind markers, function calls, type hints) and
//! type names.

use super::{PResult, Parser};
use crate::ast::{BindMarker, Literal, NativeType, QualifiedName, Term, TypeName};
use crate::lexer::{Symbol, TokenKind};

impl Parser {
    /// A constant, if the next tokens spell one (a leading `-` included).
    pub(super) fn literal(&mut self) -> PResult<Option<Literal>> {
        let negative = self.is_symbol(Symbol::Minus);
        let ahead = usize::from(negative);
        let sign = if negative { "-" } else { "" };
        let literal = match self.peek_at(ahead) {
            TokenKind::Integer(text) => Literal::Integer(format!("{sign}{text}")),
            TokenKind::Float(text) => Literal::Float(format!("{sign}{text}")),
            TokenKind::Duration(text) => Literal::Duration(format!("{sign}{text}")),
            TokenKind::Keyword("INFINITY") => Literal::Infinity { negative },
            _ if negative => {
                self.advance();
                return Err(self.error("a number after '-'"));
            }
            TokenKind::Keyword("NAN") => Literal::NaN,
            TokenKind::Keyword("NULL") => Literal::Null,
            TokenKind::String(s) => Literal::String(s.clone()),
            TokenKind::Boolean(b) => Literal::Boolean(*b),
            TokenKind::Uuid(u) => Literal::Uuid(u.clone()),
            TokenKind::Blob(b) => Literal::Blob(b.clone()),
            _ => return Ok(None),
        };
        self.advance();
        if negative {
            self.advance();
        }
        Ok(Some(literal))
    }

    /// A bind marker, if one is next.
    pub(super) fn bind_marker(&mut self) -> PResult<Option<BindMarker>> {
        if self.eat_symbol(Symbol::QuestionMark) {
            return Ok(Some(BindMarker::Anonymous));
        }
        if self.eat_symbol(Symbol::Colon) {
            return self.identifier().map(|n| Some(BindMarker::Named(n)));
        }
        Ok(None)
    }

    /// Whether a function call starts here: `f(`, `ks.f(` or `token(`.
    pub(super) fn at_function_call(&self) -> bool {
        let named = self.is_identifier_at(0) || self.is_keyword("TOKEN");
        named
            && (self.is_symbol_at(1, Symbol::LeftParen)
                || (self.is_symbol_at(1, Symbol::Dot)
                    && self.is_identifier_at(2)
                    && self.is_symbol_at(3, Symbol::LeftParen)))
    }

    /// A function name, the caller having checked [`Parser::at_function_call`].
    pub(super) fn function_name(&mut self) -> PResult<QualifiedName> {
        if self.eat_keyword("TOKEN") {
            return Ok(QualifiedName {
                keyspace: None,
                name: "token".to_owned(),
            });
        }
        self.qualified_name()
    }

    /// Any term.
    pub(super) fn term(&mut self) -> PResult<Term> {
        self.nested(Self::term_inner)
    }

    fn term_inner(&mut self) -> PResult<Term> {
        if let Some(literal) = self.literal()? {
            return Ok(Term::Literal(literal));
        }
        if let Some(marker) = self.bind_marker()? {
            return Ok(Term::BindMarker(marker));
        }
        if self.at_function_call() {
            let name = self.function_name()?;
            self.expect_symbol(Symbol::LeftParen)?;
            let args = self.terms_until(Symbol::RightParen)?;
            return Ok(Term::FunctionCall { name, args });
        }
        match self.peek() {
            TokenKind::Symbol(Symbol::LeftBracket) => {
                self.advance();
                Ok(Term::List(self.terms_until(Symbol::RightBracket)?))
            }
            TokenKind::Symbol(Symbol::LeftBrace) => self.braces(),
            TokenKind::Symbol(Symbol::LeftParen) => {
                let hint = self.is_identifier_at(1)
                    && (self.is_symbol_at(2, Symbol::RightParen)
                        || self.is_symbol_at(2, Symbol::Less));
                if hint {
                    self.advance();
                    let hint = self.type_name()?;
                    self.expect_symbol(Symbol::RightParen)?;
                    let term = Box::new(self.term()?);
                    return Ok(Term::TypeHint { hint, term });
                }
                self.advance();
                Ok(Term::Tuple(self.terms_until(Symbol::RightParen)?))
            }
            _ => Err(self.error("a value")),
        }
    }

    /// Terms separated by commas up to `close` (consumed); possibly none.
    pub(super) fn terms_until(&mut self, close: Symbol) -> PResult<Vec<Term>> {
        let mut terms = Vec::new();
        if self.eat_symbol(close) {
            return Ok(terms);
        }
        loop {
            terms.push(self.term()?);
            if self.eat_symbol(close) {
                return Ok(terms);
            }
            if !self.eat_symbol(Symbol::Comma) {
                let expected = format!(", or {}", close.as_str());
                return Err(self.error(&expected));
            }
        }
    }

    /// `{...}`: a set, a map or a UDT value.
    fn braces(&mut self) -> PResult<Term> {
        self.expect_symbol(Symbol::LeftBrace)?;
        if self.eat_symbol(Symbol::RightBrace) {
            return Ok(Term::Set(Vec::new()));
        }
        if self.is_identifier_at(0) && self.is_symbol_at(1, Symbol::Colon) {
            let mut fields = Vec::new();
            loop {
                let field = self.identifier()?;
                self.expect_symbol(Symbol::Colon)?;
                fields.push((field, self.term()?));
                if self.eat_symbol(Symbol::RightBrace) {
                    return Ok(Term::Udt(fields));
                }
                self.expect_symbol(Symbol::Comma)?;
            }
        }
        let first = self.term()?;
        if !self.eat_symbol(Symbol::Colon) {
            let mut elements = vec![first];
            while !self.eat_symbol(Symbol::RightBrace) {
                if !self.eat_symbol(Symbol::Comma) {
                    return Err(self.error(", or }"));
                }
                elements.push(self.term()?);
            }
            return Ok(Term::Set(elements));
        }
        let mut entries = vec![(first, self.term()?)];
        while !self.eat_symbol(Symbol::RightBrace) {
            if !self.eat_symbol(Symbol::Comma) {
                return Err(self.error(", or }"));
            }
            let key = self.term()?;
            self.expect_symbol(Symbol::Colon)?;
            entries.push((key, self.term()?));
        }
        Ok(Term::Map(entries))
    }

    /// A type name: `int`, `frozen<list<int>>`, `map<text, tuple<int, text>>`, `ks.udt`.
    pub(super) fn type_name(&mut self) -> PResult<TypeName> {
        self.nested(Self::type_name_inner)
    }

    fn type_name_inner(&mut self) -> PResult<TypeName> {
        if let TokenKind::String(class) = self.peek() {
            let class = class.clone();
            self.advance();
            return Ok(TypeName::Custom(class));
        }
        // `set` is a reserved keyword, the other type names are not.
        let word = match self.peek() {
            TokenKind::Identifier(word) => word.to_ascii_lowercase(),
            TokenKind::Keyword("SET") if self.is_symbol_at(1, Symbol::Less) => "set".to_owned(),
            TokenKind::QuotedIdentifier(_) => {
                return self.qualified_name().map(TypeName::UserDefined);
            }
            _ => return Err(self.error("a type")),
        };
        let generic = self.is_symbol_at(1, Symbol::Less);
        let ty = match word.as_str() {
            "list" | "set" | "frozen" if generic => {
                self.advance();
                self.advance();
                let inner = Box::new(self.type_name()?);
                match word.as_str() {
                    "list" => TypeName::List(inner),
                    "set" => TypeName::Set(inner),
                    _ => TypeName::Frozen(inner),
                }
            }
            "map" if generic => {
                self.advance();
                self.advance();
                let key = Box::new(self.type_name()?);
                self.expect_symbol(Symbol::Comma)?;
                TypeName::Map(key, Box::new(self.type_name()?))
            }
            "tuple" if generic => {
                self.advance();
                self.advance();
                let mut items = vec![self.type_name()?];
                while self.eat_symbol(Symbol::Comma) {
                    items.push(self.type_name()?);
                }
                TypeName::Tuple(items)
            }
            "vector" if generic => {
                self.advance();
                self.advance();
                let element = Box::new(self.type_name()?);
                self.expect_symbol(Symbol::Comma)?;
                let TokenKind::Integer(dimension) = self.peek().clone() else {
                    return Err(self.error("the vector's dimension"));
                };
                self.advance();
                TypeName::Vector(element, dimension)
            }
            _ => {
                if let Some(native) = NativeType::from_name(&word)
                    && !self.is_symbol_at(1, Symbol::Dot)
                {
                    self.advance();
                    return Ok(TypeName::Native(native));
                }
                return self.qualified_name().map(TypeName::UserDefined);
            }
        };
        self.expect_symbol(Symbol::Greater)?;
        Ok(ty)
    }
}
