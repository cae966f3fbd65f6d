//! Statements assembled at run time (filters, `IN` lists, multi-row inserts) with numbered
//! `$N` parameters, which both backends read (sqlx's own `QueryBuilder` writes `?` for the
//! `Any` driver, which PostgreSQL does not accept).

use std::fmt::{Display, Write};

use sqlx::any::{Any, AnyArguments};
use sqlx::error::BoxDynError;
use sqlx::query::{Query, QueryScalar};
use sqlx::{Arguments, Encode, Type};

use crate::db::Backend;
use crate::error::{Error, Result};

/// A statement under construction and its arguments, in order.
pub struct Builder<'a> {
    backend: Backend,
    sql: String,
    args: AnyArguments<'a>,
    /// The first argument that failed to encode; `build` reports it.
    error: Option<BoxDynError>,
}

impl<'a> Builder<'a> {
    /// Starts a statement with `sql`, for a store on `backend`.
    pub fn new(backend: Backend, sql: impl Into<String>) -> Self {
        Self { backend, sql: sql.into(), args: AnyArguments::default(), error: None }
    }

    /// The dialect the statement is for.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Appends SQL text (never a value: values go through `push_bind`).
    pub fn push(&mut self, sql: impl Display) -> &mut Self {
        // Writing to a String cannot fail.
        let _ = write!(self.sql, "{sql}");
        self
    }

    /// Appends the next parameter, `$N`, bound to `value`.
    pub fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any>,
    {
        if let Err(err) = self.args.add(value) {
            self.error.get_or_insert(err);
        }
        let _ = write!(self.sql, "${}", self.args.len());
        self
    }

    /// A writer of a `separator`-joined list.
    pub fn separated<'b>(&'b mut self, separator: &'static str) -> Separated<'b, 'a> {
        Separated { builder: self, separator, first: true }
    }

    /// Appends `VALUES (…), (…)`, one tuple per item, written by `row`.
    pub fn push_values<I, F>(&mut self, items: I, mut row: F) -> &mut Self
    where
        I: IntoIterator,
        F: FnMut(Separated<'_, 'a>, I::Item),
    {
        self.push("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push("(");
            row(self.separated(", "), item);
            self.push(")");
        }
        self
    }

    /// The SQL text so far.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The statement, ready to execute; its arguments move into it.
    pub fn build(&mut self) -> Result<Query<'_, Any, AnyArguments<'_>>> {
        self.check()?;
        Ok(sqlx::query_with(&self.sql, std::mem::take(&mut self.args)))
    }

    /// The statement as a query of one column.
    pub fn build_query_scalar<T>(&mut self) -> Result<QueryScalar<'_, Any, T, AnyArguments<'_>>>
    where
        (T,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        self.check()?;
        Ok(sqlx::query_scalar_with(&self.sql, std::mem::take(&mut self.args)))
    }

    fn check(&mut self) -> Result<()> {
        match self.error.take() {
            Some(err) => Err(Error::internal(format!("encoding a query argument: {err}"))),
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for Builder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder").field("sql", &self.sql).field("args", &self.args.len()).finish()
    }
}

/// Writes a list into a [`Builder`], the separator before every item but the first.
#[derive(Debug)]
pub struct Separated<'b, 'a> {
    builder: &'b mut Builder<'a>,
    separator: &'static str,
    first: bool,
}

impl<'a> Separated<'_, 'a> {
    fn separate(&mut self) {
        if !self.first {
            self.builder.push(self.separator);
        }
        self.first = false;
    }

    /// Appends SQL text as the next item.
    pub fn push(&mut self, sql: impl Display) -> &mut Self {
        self.separate();
        self.builder.push(sql);
        self
    }

    /// Appends a parameter as the next item.
    pub fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any>,
    {
        self.separate();
        self.builder.push_bind(value);
        self
    }

    /// Appends SQL text to the current item.
    pub fn push_unseparated(&mut self, sql: impl Display) -> &mut Self {
        self.builder.push(sql);
        self
    }

    /// Appends a parameter to the current item.
    pub fn push_bind_unseparated<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any>,
    {
        self.builder.push_bind(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_in_order() {
        let mut b = Builder::new(Backend::Sqlite, "SELECT x FROM t WHERE a = ");
        b.push_bind(1_i64).push(" AND b IN (");
        let mut list = b.separated(", ");
        for v in ["p", "q"] {
            list.push_bind(v);
        }
        b.push(") ");
        b.push_values([(1_i64, "x"), (2, "y")], |mut row, (n, s)| {
            row.push_bind(n).push_bind(s);
        });
        assert_eq!(b.sql(), "SELECT x FROM t WHERE a = $1 AND b IN ($2, $3) VALUES ($4, $5), ($6, $7)");
        assert!(b.build().is_ok());
    }
}
