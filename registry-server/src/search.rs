//! MLflow's search grammar: `metrics.rmse < 1 AND params.lr = '0.1'`, `order_by` clauses,
//! and offset page tokens (base64 of `{"offset": N}`), compiled to bound SQL.

use crate::sql::Builder;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};

/// What a comparison is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// `metrics.<key>` (latest value of a run's metric).
    Metric,
    /// `params.<key>`.
    Param,
    /// `tags.<key>`.
    Tag,
    /// A column of the searched resource (`attributes.<key>` or a bare key).
    Attribute,
    /// `datasets.<key>`.
    Dataset,
}

impl Entity {
    fn parse(word: &str) -> Result<Self> {
        Ok(match word {
            "metric" | "metrics" => Self::Metric,
            "parameter" | "parameters" | "param" | "params" => Self::Param,
            "tag" | "tags" => Self::Tag,
            "attribute" | "attributes" | "attr" | "run" => Self::Attribute,
            "dataset" | "datasets" => Self::Dataset,
            other => {
                return Err(Error::invalid(format!(
                    "Invalid entity type '{other}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']"
                )));
            }
        })
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE` (case-sensitive, `%` and `_` wildcards)
    Like,
    /// `ILIKE` (case-insensitive)
    ILike,
    /// `IN (...)`
    In,
    /// `NOT IN (...)`
    NotIn,
    /// `IS NULL`
    IsNull,
    /// `IS NOT NULL`
    IsNotNull,
}

impl Op {
    /// The SQL spelling of a plain comparison.
    pub fn sql(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Like => "LIKE",
            Self::ILike => "ILIKE",
            Self::In => "IN",
            Self::NotIn => "NOT IN",
            Self::IsNull => "IS NULL",
            Self::IsNotNull => "IS NOT NULL",
        }
    }

    /// True for `= != < <= > >=`.
    pub fn is_ordering(self) -> bool {
        matches!(self, Self::Eq | Self::Ne | Self::Lt | Self::Le | Self::Gt | Self::Ge)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Like => "LIKE",
            Self::ILike => "ILIKE",
            Self::Ne => "!=",
            other => other.sql(),
        }
    }
}

/// A literal on the right-hand side.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A number, kept with its source text.
    Number(f64, String),
    /// A quoted string.
    Str(String),
    /// A parenthesised list of quoted strings.
    List(Vec<String>),
    /// No value (`IS NULL`).
    None,
}

/// One `entity.key OP value` clause of an AND-ed filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// What is compared.
    pub entity: Entity,
    /// The metric / param / tag name or attribute column.
    pub key: String,
    /// The operator.
    pub op: Op,
    /// The literal.
    pub value: Literal,
}

impl Comparison {
    /// The value as a string, or an error naming the expected form.
    pub fn string_value(&self) -> Result<&str> {
        match &self.value {
            Literal::Str(s) => Ok(s),
            Literal::Number(_, text) => Err(Error::invalid(format!(
                "Expected a quoted string value for {} '{}' (e.g. 'my-value'). Got value {text}",
                entity_word(self.entity),
                self.key
            ))),
            _ => Err(Error::invalid(format!(
                "Expected a quoted string value for {} '{}'",
                entity_word(self.entity),
                self.key
            ))),
        }
    }

    /// The value as a number, or an error.
    pub fn number_value(&self) -> Result<f64> {
        match &self.value {
            Literal::Number(n, _) => Ok(*n),
            Literal::Str(s) => Err(Error::invalid(format!(
                "Expected numeric value type for {} '{}'. Found '{s}'",
                entity_word(self.entity),
                self.key
            ))),
            _ => Err(Error::invalid(format!(
                "Expected numeric value type for {} '{}'",
                entity_word(self.entity),
                self.key
            ))),
        }
    }

    /// Fails unless the operator is one of `allowed`.
    pub fn expect_ops(&self, allowed: &[Op]) -> Result<()> {
        if allowed.contains(&self.op) {
            return Ok(());
        }
        let names: Vec<&str> = allowed.iter().map(|op| op.name()).collect();
        Err(Error::invalid(format!(
            "Invalid comparator '{}' for {} '{}': use one of {}",
            self.op.name(),
            entity_word(self.entity),
            self.key,
            names.join(", ")
        )))
    }
}

fn entity_word(entity: Entity) -> &'static str {
    match entity {
        Entity::Metric => "metric",
        Entity::Param => "parameter",
        Entity::Tag => "tag",
        Entity::Attribute => "attribute",
        Entity::Dataset => "dataset",
    }
}

// ---- tokenizer ----

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String, char),
    Number(f64, String),
    Op(String),
    LParen,
    RParen,
    Comma,
    Dot,
}

fn tokenize(input: &str) -> Result<Vec<Tok>> {
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '.' if !chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                out.push(Tok::Dot);
                i += 1;
            }
            '\'' | '"' | '`' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(Error::invalid(format!(
                                "Invalid filter '{input}': unterminated {quote} quote"
                            )));
                        }
                        Some(&ch) if ch == quote => {
                            // A doubled quote inside a string is a literal quote.
                            if chars.get(i + 1) == Some(&quote) {
                                s.push(quote);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Quoted(s, quote));
            }
            '=' | '!' | '<' | '>' => {
                let mut op = c.to_string();
                if let Some(&next) = chars.get(i + 1)
                    && (next == '=' || (c == '<' && next == '>'))
                {
                    op.push(next);
                }
                i += op.len();
                if op == "!" {
                    return Err(Error::invalid(format!("Invalid filter '{input}': lone '!'")));
                }
                out.push(Tok::Op(op));
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || chars[i] == '.'
                        || chars[i] == 'e'
                        || chars[i] == 'E'
                        || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse::<f64>()
                    .map_err(|_| Error::invalid(format!("Invalid filter '{input}': bad number '{text}'")))?;
                out.push(Tok::Number(n, text));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-' | ':' | '/'))
                {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
            other => {
                return Err(Error::invalid(format!(
                    "Invalid filter '{input}': unexpected character '{other}'"
                )));
            }
        }
    }
    Ok(out)
}

/// Cursor over tokens.
struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    input: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn err(&self, what: &str) -> Error {
        Error::invalid(format!("Invalid filter '{}': {what}", self.input))
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    /// `entity.key`, `` `entity`.`key` ``, `entity."key"`, or a bare attribute name.
    fn identifier(&mut self) -> Result<(Entity, String)> {
        let first = match self.next() {
            Some(Tok::Word(w)) => w,
            Some(Tok::Quoted(w, '`')) => w,
            Some(Tok::Quoted(w, _)) => w,
            _ => return Err(self.err("expected an identifier such as metrics.accuracy")),
        };
        if self.peek() != Some(&Tok::Dot) {
            // "run name" style aliases are written quoted; a bare word is an attribute.
            return Ok((Entity::Attribute, first));
        }
        self.pos += 1;
        let entity = Entity::parse(&first)?;
        let mut key = match self.next() {
            Some(Tok::Word(w)) => w,
            Some(Tok::Quoted(w, _)) => w,
            Some(Tok::Number(_, text)) => text,
            _ => return Err(self.err("expected a key after the '.'")),
        };
        // Unquoted keys may contain dots: metrics.train.loss
        while self.peek() == Some(&Tok::Dot) {
            self.pos += 1;
            match self.next() {
                Some(Tok::Word(w)) => {
                    key.push('.');
                    key.push_str(&w);
                }
                Some(Tok::Number(_, text)) => {
                    key.push('.');
                    key.push_str(&text);
                }
                _ => return Err(self.err("expected a key part after '.'")),
            }
        }
        // A number token like ".5" glued to a key: metrics.a.5 is tokenized as Word + Number.
        while let Some(Tok::Number(_, text)) = self.peek() {
            if !text.starts_with('.') {
                break;
            }
            key.push_str(text);
            self.pos += 1;
        }
        Ok((entity, key))
    }

    fn operator(&mut self) -> Result<Op> {
        match self.next() {
            Some(Tok::Op(op)) => Ok(match op.as_str() {
                "=" | "==" => Op::Eq,
                "!=" | "<>" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                other => return Err(self.err(&format!("unknown comparator '{other}'"))),
            }),
            Some(Tok::Word(w)) => match w.to_ascii_uppercase().as_str() {
                "LIKE" => Ok(Op::Like),
                "ILIKE" => Ok(Op::ILike),
                "IN" => Ok(Op::In),
                "NOT" if self.keyword("IN") => {
                    self.pos += 1;
                    Ok(Op::NotIn)
                }
                "IS" => {
                    if self.keyword("NOT") {
                        self.pos += 1;
                        if self.keyword("NULL") {
                            self.pos += 1;
                            return Ok(Op::IsNotNull);
                        }
                    } else if self.keyword("NULL") {
                        self.pos += 1;
                        return Ok(Op::IsNull);
                    }
                    Err(self.err("expected IS NULL or IS NOT NULL"))
                }
                other => Err(self.err(&format!("expected a comparator, found '{other}'"))),
            },
            _ => Err(self.err("expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN)")),
        }
    }

    fn literal(&mut self, op: Op) -> Result<Literal> {
        if matches!(op, Op::IsNull | Op::IsNotNull) {
            return Ok(Literal::None);
        }
        match self.next() {
            Some(Tok::Quoted(s, '`')) => {
                Err(self.err(&format!("value `{s}` is backquoted; quote string values with ' or \"")))
            }
            Some(Tok::Quoted(s, _)) => Ok(Literal::Str(s)),
            Some(Tok::Number(n, text)) => Ok(Literal::Number(n, text)),
            Some(Tok::LParen) => {
                let mut items = Vec::new();
                loop {
                    match self.next() {
                        Some(Tok::Quoted(s, '\'' | '"')) => items.push(s),
                        Some(Tok::RParen) if items.is_empty() => {
                            return Err(Error::invalid(
                                "While parsing a list in the query, expected a non-empty list of string values, but got empty list",
                            ));
                        }
                        _ => {
                            return Err(Error::invalid(
                                "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.",
                            ));
                        }
                    }
                    match self.next() {
                        Some(Tok::Comma) => continue,
                        Some(Tok::RParen) => break,
                        _ => return Err(self.err("expected ',' or ')' in list")),
                    }
                }
                Ok(Literal::List(items))
            }
            Some(Tok::Word(w)) => Err(Error::invalid(format!(
                "Parameter value is either not quoted or unidentified quote types used for string value {w}. Use either single or double quotes."
            ))),
            _ => Err(self.err("expected a value")),
        }
    }
}

/// Parses an AND-ed filter. Empty input gives no clauses.
pub fn parse_filter(input: &str) -> Result<Vec<Comparison>> {
    if input.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Parser { toks: tokenize(input)?, pos: 0, input };
    let mut out = Vec::new();
    loop {
        let (entity, key) = p.identifier()?;
        let op = p.operator()?;
        let value = p.literal(op)?;
        if matches!(op, Op::In | Op::NotIn) != matches!(value, Literal::List(_)) {
            return Err(p.err("IN and NOT IN take a parenthesised list of quoted strings"));
        }
        out.push(Comparison { entity, key, op, value });
        match p.next() {
            None => break,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("AND") => continue,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("OR") => {
                return Err(Error::invalid(format!(
                    "Invalid clause(s) in filter string: 'OR'. Only AND-ed comparisons are supported in '{input}'"
                )));
            }
            Some(other) => {
                return Err(Error::invalid(format!(
                    "Invalid clause(s) in filter string: {other:?} in '{input}'. Join comparisons with AND"
                )));
            }
        }
    }
    Ok(out)
}

/// One `order_by` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    /// What is sorted on.
    pub entity: Entity,
    /// Key or attribute.
    pub key: String,
    /// Ascending (the default) or descending.
    pub ascending: bool,
}

/// Parses `metrics.rmse DESC`, `name`, `` `tags`.`x y` asc ``.
pub fn parse_order_by(input: &str) -> Result<OrderBy> {
    let bad = || Error::invalid(format!("Invalid order_by clause '{input}'. Could not be parsed."));
    let toks = tokenize(input).map_err(|_| bad())?;
    if toks.is_empty() {
        return Err(bad());
    }
    let mut p = Parser { toks, pos: 0, input };
    let (entity, key) = p.identifier().map_err(|e| match e {
        Error::InvalidParameter(m) if m.starts_with("Invalid entity") => Error::InvalidParameter(m),
        _ => bad(),
    })?;
    let ascending = match p.next() {
        None => true,
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("ASC") => true,
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("DESC") => false,
        Some(_) => {
            return Err(Error::invalid(format!("Invalid ordering key in order_by clause '{input}'.")));
        }
    };
    if p.next().is_some() {
        return Err(bad());
    }
    Ok(OrderBy { entity, key, ascending })
}

/// Decodes MLflow's offset page token (base64 of `{"offset": N}`); empty means 0.
pub fn decode_page_token(token: Option<&str>) -> Result<i64> {
    let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(0) };
    let bytes = STANDARD
        .decode(token.trim())
        .map_err(|_| Error::invalid("Invalid page token, could not base64-decode"))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
        Error::invalid(format!("Invalid page token, decoded value={}", String::from_utf8_lossy(&bytes)))
    })?;
    let offset = value.get("offset").and_then(|o| match o {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    });
    match offset {
        Some(n) if n > 0 => Ok(n),
        _ => Err(Error::invalid(format!("Invalid page token, parsed value={value}"))),
    }
}

/// Encodes an offset exactly as MLflow does (`json.dumps` puts a space after the colon).
/// A page of a list answer as MLflow shapes it: the items under `key` (omitted when
/// empty) and `next_page_token` when another page starts at `next_offset`.
pub fn page<T: serde::Serialize>(
    key: &str,
    items: Vec<T>,
    next_offset: Option<i64>,
) -> Result<axum::Json<serde_json::Value>> {
    let mut body = serde_json::Map::new();
    if !items.is_empty() {
        body.insert(key.into(), serde_json::to_value(items).map_err(Error::internal)?);
    }
    if let Some(offset) = next_offset {
        body.insert("next_page_token".into(), serde_json::Value::String(encode_page_token(offset)));
    }
    Ok(axum::Json(serde_json::Value::Object(body)))
}

/// `EXISTS` (or, for `IS [NOT] NULL`, its presence test) over a key/value table such as
/// tags or params: rows of `table` aliased `t`, tied to the outer row by `join`.
pub fn push_key_value_filter(qb: &mut Builder<'_>, table: &str, join: &str, f: &Comparison) -> Result<()> {
    match f.op {
        Op::IsNull | Op::IsNotNull => {
            qb.push(if f.op == Op::IsNull { " NOT EXISTS" } else { " EXISTS" });
            qb.push(format!(" (SELECT 1 FROM {table} t WHERE {join} AND t.key = "));
            qb.push_bind(f.key.clone());
            qb.push(")");
        }
        _ => {
            f.expect_ops(&[Op::Eq, Op::Ne, Op::Like, Op::ILike])?;
            qb.push(format!(" EXISTS (SELECT 1 FROM {table} t WHERE {join} AND t.key = "));
            qb.push_bind(f.key.clone());
            qb.push(" AND");
            push_string_comparison(qb, "t.value", f)?;
            qb.push(")");
        }
    }
    Ok(())
}

pub fn encode_page_token(offset: i64) -> String {
    STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

/// Validates `max_results` against MLflow's default and ceiling.
pub fn max_results(requested: Option<i64>, default: i64, ceiling: i64) -> Result<i64> {
    let n = requested.unwrap_or(default);
    if n <= 0 {
        return Err(Error::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be a positive integer"
        )));
    }
    if n > ceiling {
        return Err(Error::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be at most {ceiling}"
        )));
    }
    Ok(n)
}

/// Converts a LIKE pattern (`%`, `_`) into an equivalent case-sensitive GLOB pattern.
pub fn like_to_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            other => out.push(other),
        }
    }
    out
}

/// Appends `column OP value` for a string comparison (=, !=, LIKE, ILIKE, IN, NOT IN).
pub fn push_string_comparison(qb: &mut Builder<'_>, column: &str, cmp: &Comparison) -> Result<()> {
    match (&cmp.op, &cmp.value) {
        (Op::In | Op::NotIn, Literal::List(items)) => {
            qb.push(format!(" {column} {} (", cmp.op.sql()));
            let mut sep = qb.separated(", ");
            for item in items {
                sep.push_bind(item.clone());
            }
            qb.push(")");
        }
        (Op::Like, _) => {
            let (op, pattern) = qb.backend().case_sensitive_like(cmp.string_value()?);
            qb.push(format!(" {column} {op} "));
            qb.push_bind(pattern);
        }
        (Op::ILike, _) => {
            qb.push(format!(" lower({column}) LIKE lower("));
            qb.push_bind(cmp.string_value()?.to_string());
            qb.push(")");
        }
        (op, _) if op.is_ordering() => {
            qb.push(format!(" {column} {} ", op.sql()));
            qb.push_bind(cmp.string_value()?.to_string());
        }
        _ => {
            return Err(Error::invalid(format!("Invalid comparator '{}' for '{}'", cmp.op.name(), cmp.key)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &[(Entity, &str, Op)]) {
        let got = parse_filter(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        let got: Vec<(Entity, &str, Op)> = got.iter().map(|c| (c.entity, c.key.as_str(), c.op)).collect();
        assert_eq!(got, expected, "{input}");
    }

    #[test]
    fn filters() {
        use Entity::*;
        check("", &[]);
        check("metrics.rmse < 1", &[(Metric, "rmse", Op::Lt)]);
        check(
            "metrics.train.loss >= -1.5e-3 and params.lr = '0.1'",
            &[(Metric, "train.loss", Op::Ge), (Param, "lr", Op::Eq)],
        );
        check("tags.`mlflow.runName` LIKE 'a%'", &[(Tag, "mlflow.runName", Op::Like)]);
        check("tags.\"my tag\" != \"x\"", &[(Tag, "my tag", Op::Ne)]);
        check("attributes.run_id IN ('a', 'b')", &[(Attribute, "run_id", Op::In)]);
        check("run_name ILIKE '%x%'", &[(Attribute, "run_name", Op::ILike)]);
        check(
            "params.p IS NOT NULL AND tags.t IS NULL",
            &[(Param, "p", Op::IsNotNull), (Tag, "t", Op::IsNull)],
        );
        check("attribute.status NOT IN ('FAILED')", &[(Attribute, "status", Op::NotIn)]);
    }

    #[test]
    fn bad_filters() {
        for bad in [
            "metrics.a < 1 OR metrics.b > 2",
            "foo.bar = 'x'",
            "params.p = unquoted",
            "metrics.a <",
            "params.p = 'open",
            "attributes.run_id IN ()",
        ] {
            let err = parse_filter(bad).err();
            assert!(matches!(err, Some(Error::InvalidParameter(_))), "{bad}: {err:?}");
        }
    }

    #[test]
    fn order_by_and_tokens() {
        let o = parse_order_by("metrics.rmse DESC").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((o.entity, o.key.as_str(), o.ascending), (Entity::Metric, "rmse", false));
        let o = parse_order_by("name").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((o.entity, o.ascending), (Entity::Attribute, true));
        assert!(parse_order_by("name sideways").is_err());
        assert_eq!(encode_page_token(10), "eyJvZmZzZXQiOiAxMH0=");
        assert_eq!(decode_page_token(Some("eyJvZmZzZXQiOiAxMH0=")).ok(), Some(10));
        assert!(decode_page_token(Some("!!")).is_err());
        assert_eq!(like_to_glob("a%b_c*"), "a*b?c[*]");
    }
}
