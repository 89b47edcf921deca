//! Seeding contacts straight into the database (the server stopped): rows generated in the
//! bench, their `contact_keys` computed by the server's own code (`api::domain::contacts::keys`),
//! written with multi-row INSERTs in large transactions, keys in primary-key order.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use api::domain::contacts::{keys, normalize};
use chrono::{DateTime, TimeDelta, Utc};
use entity::contacts;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, TransactionTrait};

use super::people::{self, Names, Rng};

/// Rows per INSERT statement.
const ROWS_PER_INSERT: usize = 1_000;
/// Rows per transaction.
const ROWS_PER_TRANSACTION: usize = 200_000;
/// Share of contacts with a mobile phone.
const MOBILE: f64 = 0.6;
/// Share with an e-mail.
const EMAIL: f64 = 0.3;
/// Share with a business phone.
const BUSINESS: f64 = 0.1;
/// Share with a home phone.
const HOME: f64 = 0.08;

/// A seeded contact, as much as the samples need.
#[derive(Clone, Copy, Debug)]
pub struct Seeded {
    /// First name index.
    pub first: u16,
    /// Last name index.
    pub last: u16,
    /// Pool index of its mobile (or else business) phone.
    pub phone: Option<u32>,
}

/// What seeding produced.
pub struct Population {
    /// The contacts, in id order.
    pub contacts: Vec<Seeded>,
    /// Id of the first seeded contact.
    pub first_id: i64,
    /// `contact_keys` rows written.
    pub keys: usize,
    /// Size of the phone pool.
    pub pool: u32,
    /// Time taken, ANALYZE included.
    pub elapsed: Duration,
}

impl Population {
    /// Id of the last seeded contact.
    pub fn last_id(&self) -> i64 {
        self.first_id + self.contacts.len() as i64 - 1
    }
}

/// An SQL string literal (or NULL).
fn text(value: Option<&str>) -> String {
    match value {
        Some(value) => format!("'{}'", value.replace('\'', "''")),
        None => "NULL".to_owned(),
    }
}

/// Seeds `count` contacts and their keys, then refreshes the planner's statistics.
pub async fn seed(
    db: &DatabaseConnection,
    names: &Names,
    count: usize,
    seed: u64,
) -> anyhow::Result<Population> {
    let started = Instant::now();
    let backend = db.get_database_backend();
    let max = db
        .query_one_raw(sea_orm::Statement::from_string(backend, "SELECT COALESCE(MAX(id), 0) FROM contacts"))
        .await?
        .context("no answer to MAX(id)")?
        .try_get_by_index::<i64>(0)?;
    let first_id = max + 1;
    if backend == DbBackend::Sqlite {
        // A 256 MiB page cache for the bulk insert (the server's pool has one connection on
        // SQLite, so this is the connection the inserts use): the keys' second index,
        // on contact id, is written in random order.
        db.execute_unprepared("PRAGMA cache_size = -262144").await?;
    }
    // About 0.8 phone numbers per contact: most numbers have one holder, many have two or more.
    let pool = ((count as f64 * 0.8) as u32).max(1_000);
    let mut rng = Rng::new(seed);
    let base: DateTime<Utc> = Utc::now() - TimeDelta::days(400);

    let mut seeded = Vec::with_capacity(count);
    let mut key_rows: Vec<(&'static str, String, i64)> = Vec::with_capacity(count * 5);
    let mut statements = Vec::new();
    let mut values = Vec::with_capacity(ROWS_PER_INSERT);
    for n in 0..count {
        let id = first_id + n as i64;
        let (first, last) = names.draw(&mut rng);
        let (first_name, last_name) = (names.first(first), names.last(last));
        let name = if rng.chance(0.1) {
            format!("{last_name} {first_name}")
        } else {
            format!("{first_name} {last_name}")
        };
        let mut phone = None;
        let mut number = |rng: &mut Rng, p: f64| {
            rng.chance(p).then(|| {
                let at = rng.below(pool as usize) as u32;
                phone = phone.or(Some(at));
                people::phone_written(at, n as u64)
            })
        };
        let mobile = number(&mut rng, MOBILE);
        let business = number(&mut rng, BUSINESS);
        let home = number(&mut rng, HOME);
        let email = rng.chance(EMAIL).then(|| people::email(first_name, last_name, &mut rng, n as u64));
        let created = base + TimeDelta::seconds((n as i64) * 30);
        let model = contacts::Model {
            id,
            name,
            photo_url: None,
            email,
            mobile_phone: mobile,
            business_phone: business,
            home_phone: home,
            job_title: None,
            account_id: None,
            created_at: created,
            updated_at: created,
            merged_into_id: None,
            keys_version: normalize::VERSION,
        };
        for (field, value) in keys::of(&model) {
            key_rows.push((field.as_str(), value, id));
        }
        let at = text(Some(&created.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()));
        values.push(format!(
            "({id}, {}, {}, {}, {}, {}, {at}, {at}, {})",
            text(Some(&model.name)),
            text(model.email.as_deref()),
            text(model.mobile_phone.as_deref()),
            text(model.business_phone.as_deref()),
            text(model.home_phone.as_deref()),
            normalize::VERSION
        ));
        if values.len() == ROWS_PER_INSERT || n + 1 == count {
            statements.push(format!(
                "INSERT INTO contacts (id, name, email, mobile_phone, business_phone, home_phone, created_at, \
                 updated_at, keys_version) VALUES {}",
                values.join(", ")
            ));
            values.clear();
        }
        seeded.push(Seeded { first, last, phone });
    }
    run_batches(db, &statements).await.context("inserting contacts")?;
    drop(statements);
    eprintln!(
        "bench: seeded {count} contacts in {:.1} s; writing {} keys",
        started.elapsed().as_secs_f64(),
        key_rows.len()
    );

    // Keys in primary-key order: every insert appends to the end of the index.
    key_rows.sort_unstable();
    let statements: Vec<String> = key_rows
        .chunks(ROWS_PER_INSERT)
        .map(|chunk| {
            let rows: Vec<String> = chunk
                .iter()
                .map(|(field, value, id)| format!("('{field}', {}, {id})", text(Some(value))))
                .collect();
            format!("INSERT INTO contact_keys (field, value, contact_id) VALUES {}", rows.join(", "))
        })
        .collect();
    run_batches(db, &statements).await.context("inserting contact keys")?;
    let keys = key_rows.len();

    if backend == DbBackend::Postgres {
        db.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('contacts', 'id'), (SELECT MAX(id) FROM contacts))",
        )
        .await?;
    }
    let analyzed = Instant::now();
    match backend {
        DbBackend::Postgres => db.execute_unprepared("VACUUM ANALYZE contacts, contact_keys").await?,
        _ => db.execute_unprepared("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)").await?,
    };
    eprintln!("bench: ANALYZE took {:.1} s", analyzed.elapsed().as_secs_f64());
    let found = db
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            format!(
                "SELECT COUNT(*) FROM contacts WHERE id >= {first_id} AND keys_version = {}",
                normalize::VERSION
            ),
        ))
        .await?
        .context("no answer to COUNT(*)")?
        .try_get_by_index::<i64>(0)?;
    ensure!(found == count as i64, "seeded {found} contacts, expected {count}");
    Ok(Population { contacts: seeded, first_id, keys, pool, elapsed: started.elapsed() })
}

/// Runs the statements in transactions of about [`ROWS_PER_TRANSACTION`] rows.
async fn run_batches(db: &DatabaseConnection, statements: &[String]) -> anyhow::Result<()> {
    for group in statements.chunks(ROWS_PER_TRANSACTION / ROWS_PER_INSERT) {
        let txn = db.begin().await?;
        for statement in group {
            txn.execute_unprepared(statement).await?;
        }
        txn.commit().await?;
    }
    Ok(())
}
