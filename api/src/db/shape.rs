//! SQL text built once per backend for the hottest statements.
//!
//! SeaORM builds a statement's SQL anew on every run: every column of every joined entity
//! gets a `format!`ed alias, and the text is assembled piece by piece (about 5 % of the
//! server's CPU on the agent panel's read). A [`Shape`] keeps the text the first build made
//! for each backend; later runs bind only their values.

use std::sync::OnceLock;

use sea_orm::{DbBackend, DbErr, Statement, Values};

/// One statement whose SQL never changes, only its values.
pub struct Shape {
    postgres: OnceLock<String>,
    sqlite: OnceLock<String>,
}

impl Shape {
    /// A shape whose SQL is not built yet.
    pub const fn new() -> Self {
        Self { postgres: OnceLock::new(), sqlite: OnceLock::new() }
    }

    /// The statement for `backend` with `values`. The first time, `build` makes it with
    /// SeaORM (from the same values), and the values it binds must be `values` in the same
    /// order: a caller that listed them differently gets an error at once rather than a
    /// statement with its values in the wrong places.
    pub fn statement(
        &self,
        backend: DbBackend,
        values: Values,
        build: impl FnOnce() -> Statement,
    ) -> Result<Statement, DbErr> {
        let slot = match backend {
            DbBackend::Postgres => &self.postgres,
            _ => &self.sqlite,
        };
        if let Some(sql) = slot.get() {
            return Ok(Statement::from_sql_and_values(backend, sql.clone(), values));
        }
        let built = build();
        if built.values.as_ref() != Some(&values) {
            return Err(DbErr::Custom(format!(
                "a cached statement lists its values differently from the SQL it was built as: {}",
                built.sql
            )));
        }
        let _ = slot.set(built.sql.clone());
        Ok(built)
    }
}

impl Default for Shape {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use entity::chats;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

    use super::*;

    fn select(backend: DbBackend, owner: i64, limit: u64) -> Statement {
        chats::Entity::find().filter(chats::Column::OwnerId.eq(owner)).limit(limit).build(backend)
    }

    #[test]
    fn the_sql_is_built_once_and_later_runs_bind_their_own_values() {
        let shape = Shape::new();
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let first =
                shape.statement(backend, Values(vec![7i64.into(), 5u64.into()]), || select(backend, 7, 5));
            assert_eq!(first.unwrap(), select(backend, 7, 5));
            let later = shape
                .statement(backend, Values(vec![8i64.into(), 3u64.into()]), || unreachable!("built already"))
                .unwrap();
            assert_eq!(later, select(backend, 8, 3), "same SQL, the new values");
        }
    }

    #[test]
    fn values_listed_out_of_order_are_refused() {
        let shape = Shape::new();
        let backend = DbBackend::Sqlite;
        let wrong =
            shape.statement(backend, Values(vec![5u64.into(), 7i64.into()]), || select(backend, 7, 5));
        assert!(wrong.is_err());
        // Nothing was kept: a correct caller still builds it.
        assert!(
            shape
                .statement(backend, Values(vec![7i64.into(), 5u64.into()]), || select(backend, 7, 5))
                .is_ok()
        );
    }
}
