//! The `similar` suite: the similar-contact search at scale, and what it costs ingestion.
//!
//! Per backend, on a fresh database and server:
//! 1. The webhooks suite's `new` scenario (every message from a new customer) with the
//!    duplicate rules on, then with every rule switched off (through GraphQL, as an admin),
//!    alternated for `--rounds` rounds, on the empty contact table.
//! 2. `--contacts` contacts seeded by SQL (keys from the server's own normalisation).
//! 3. `--samples` new customers whose names and phones collide with seeded contacts write
//!    one webhook each, one at a time: the latency of a new chat, search included.
//! 4. The search itself (`api::domain::contacts::similar::find`, as `create_chat_for` calls
//!    it) run from the bench for each of those new contacts, one at a time, timed.
//! 5. Step 1 again on the seeded table, with colliding customers, so the search finds
//!    something.

mod people;
mod report;
mod seed;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use entity::contacts;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::load::{self, Generator, Outcome, Payload};
use crate::scratch::{Scratch, http_client};
use crate::server::Server;
use crate::webhooks::{self, Scenario};
use crate::{Backend, Cli};
use people::{Names, Rng};
use report::{Report, Switch, SwitchRow};
use seed::Population;

/// Concurrent senders of the on/off comparison (the webhooks suite's target level).
const SENDERS: usize = 32;
/// The rules, and switching one.
const RULES: &str = "{ duplicateRules { id enabled } }";
const SET_RULE: &str =
    "mutation($id: ID!, $on: Boolean!) { setDuplicateRuleEnabled(id: $id, enabled: $on) { enabled } }";

/// Runs the suite on each backend and prints the tables; true when every backend ran and
/// nothing failed.
pub async fn run(cli: &Cli, bin: &Path, backends: &[Backend]) -> bool {
    eprintln!(
        "bench: similar: {} contacts seeded, {} samples, on/off: {} rounds of {} messages at {SENDERS} senders",
        cli.contacts, cli.samples, cli.rounds, cli.messages
    );
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let mut reports = Vec::new();
    let mut failed = false;
    for &backend in backends {
        match bench_backend(cli, bin, backend, &run_id).await {
            Ok(report) => reports.push(report),
            Err(err) => {
                eprintln!("bench: {} FAILED: {err:#}", backend.name());
                failed = true;
            }
        }
    }
    report::print(&reports, cli.contacts);
    !failed && reports.iter().all(Report::clean)
}

/// Everything on one backend.
async fn bench_backend(cli: &Cli, bin: &Path, backend: Backend, run_id: &str) -> anyhow::Result<Report> {
    let name = backend.name();
    let scratch = Scratch::new(cli, backend, "similar")?;
    let (url, dir) = (scratch.url().to_owned(), scratch.dir().to_owned());
    let http = http_client(Duration::from_secs(30))?;
    let mut generator = Generator::new(&format!("{run_id}-{name}"));
    let mut used = HashSet::new();

    // 1. On/off on the empty contact table, the webhooks suite's `new` scenario as it is.
    let server = Server::start(bin, &url, &dir).await?;
    let webhook = server.create_channel(&http).await?;
    let webhook_path = webhook.strip_prefix(server.base()).context("webhook URL off the server")?.to_owned();
    let admin = server.admin_token(&http).await?;
    let mut switches = Vec::new();
    let empty =
        on_off(cli, &server, &http, &admin, &webhook, backend, 0, &mut || generator.new_customer_message())
            .await?;
    switches.push(empty);
    server.stop();

    // 2. Seeding, with the server stopped.
    let db = api::db::connect(&url, 4).await.context("connecting to the bench database")?;
    let names = Names::new();
    let population = seed::seed(&db, &names, cli.contacts, 0x5EED).await?;
    eprintln!(
        "bench: {name}: seeded {} contacts, {} keys in {:.1} s",
        population.contacts.len(),
        population.keys,
        population.elapsed.as_secs_f64()
    );

    // 3. New chats from colliding customers, one at a time.
    let server = Server::serve(bin, &url, &dir).await?;
    let webhook = format!("{}{webhook_path}", server.base());
    let mut rng = Rng::new(0xC0FFEE);
    let samples: Vec<Payload> = (0..cli.samples)
        .map(|_| colliding(&mut generator, &mut rng, &names, &population, &mut used))
        .collect();
    let chats = load::send_all(&http, &webhook, samples, 1).await;
    eprintln!(
        "bench: {name}: {} new chats one at a time: p99 {:.1} ms, {} errors",
        chats.ok,
        crate::millis(chats.percentile(99.0)),
        chats.errors
    );

    // 4. The search itself, from the bench, for each of those contacts.
    let new_contacts = contacts::Entity::find()
        .filter(contacts::Column::Id.gt(population.last_id()))
        .order_by_asc(contacts::Column::Id)
        .all(&db)
        .await?;
    ensure!(
        new_contacts.len() == chats.ok,
        "{} new contacts after {} new chats",
        new_contacts.len(),
        chats.ok
    );
    let mut search = Outcome::default();
    let mut matches = Vec::with_capacity(new_contacts.len());
    let started = Instant::now();
    for contact in &new_contacts {
        let at = Instant::now();
        let found =
            api::domain::contacts::similar::find(&db, contact, api::domain::contacts::similar::LIMIT).await;
        let took = at.elapsed();
        match found {
            Ok(found) => {
                matches.push(found.len());
                search.record(took, None);
            }
            Err(err) => search.record(took, Some(err.to_string())),
        }
    }
    search.elapsed = started.elapsed();
    search.latencies.sort_unstable();
    eprintln!(
        "bench: {name}: similar::find for {} contacts: p50 {:.2} ms, p99 {:.2} ms",
        search.ok,
        crate::millis(search.percentile(50.0)),
        crate::millis(search.percentile(99.0))
    );

    // 5. On/off again, on the seeded table, with colliding customers.
    let seeded =
        on_off(cli, &server, &http, &admin, &webhook, backend, population.contacts.len(), &mut || {
            colliding(&mut generator, &mut rng, &names, &population, &mut used)
        })
        .await?;
    switches.push(seeded);

    let memory = server.memory()?;
    server.stop();
    db.close().await?;
    scratch.finish(cli.keep_data);
    Ok(Report {
        backend,
        contacts: population.contacts.len(),
        keys: population.keys,
        seeding: population.elapsed,
        chats,
        search,
        matches,
        switches,
        memory,
    })
}

/// The `new` scenario at [`SENDERS`] senders with the rules on, then off, `--rounds` times;
/// the rules are left on.
#[allow(clippy::too_many_arguments)]
async fn on_off(
    cli: &Cli,
    server: &Server,
    http: &reqwest::Client,
    admin: &str,
    webhook: &str,
    backend: Backend,
    contacts: usize,
    next: &mut dyn FnMut() -> Payload,
) -> anyhow::Result<Switch> {
    let mut rows = Vec::new();
    for round in 1..=cli.rounds.max(1) {
        for on in [true, false] {
            set_rules(server, http, admin, on).await?;
            let payloads: Vec<Payload> = (0..cli.messages).map(|_| next()).collect();
            eprintln!(
                "bench: {} / {contacts} contacts / search {}:",
                backend.name(),
                if on { "on" } else { "off" }
            );
            let row =
                webhooks::measure(server, http, webhook, backend, Scenario::New, SENDERS, payloads).await;
            rows.push(SwitchRow { round, on, row });
        }
    }
    set_rules(server, http, admin, true).await?;
    Ok(Switch { backend, contacts, rows })
}

/// Switches every duplicate rule on or off through GraphQL.
async fn set_rules(server: &Server, http: &reqwest::Client, admin: &str, on: bool) -> anyhow::Result<()> {
    let rules = server.graphql(http, Some(admin), RULES, json!({})).await.context("duplicateRules")?;
    let rules = rules["duplicateRules"].as_array().context("duplicateRules answered no list")?;
    ensure!(!rules.is_empty(), "no duplicate rules");
    for rule in rules {
        if rule["enabled"].as_bool() != Some(on) {
            let id = rule["id"].as_str().context("a rule without id")?;
            server
                .graphql(http, Some(admin), SET_RULE, json!({ "id": id, "on": on }))
                .await
                .context("setDuplicateRuleEnabled")?;
        }
    }
    Ok(())
}

/// A message from a new customer who looks like seeded contacts. A seeded contact is picked
/// at random: when it has a phone, 70 % of customers write from that number (the others from
/// a number nobody has); half take its name, the others a name drawn like the seeded ones
/// (so common names collide), and a fifth write the name last word first. Every customer is
/// new (a WhatsApp id not used before in the run).
fn colliding(
    generator: &mut Generator,
    rng: &mut Rng,
    names: &Names,
    population: &Population,
    used: &mut HashSet<u32>,
) -> Payload {
    let holder = population.contacts[rng.below(population.contacts.len())];
    let (first, last) = if rng.chance(0.5) { (holder.first, holder.last) } else { names.draw(rng) };
    let name = if rng.chance(0.2) {
        format!("{} {}", names.last(last), names.first(first))
    } else {
        format!("{} {}", names.first(first), names.last(last))
    };
    let mut phone = match holder.phone {
        Some(p) if rng.chance(0.7) => p,
        _ => population.pool + rng.below(population.pool as usize) as u32,
    };
    while !used.insert(phone) {
        phone = population.pool + rng.below(population.pool as usize) as u32;
    }
    generator.message(&format!("1{}", people::phone_digits(phone)), &name)
}
