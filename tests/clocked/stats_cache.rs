//! The `chatStats` result cache (docs/metrics.md, "The result cache") answers exactly what a
//! fresh read would: figures computed by hand while the kept part is read, used, extended past
//! a chat that completes, and read anew when a chat appears with an earlier creation time.
//! `/metrics` says which path answered, so a cache that stopped being used fails too.

use api::clock;
use entity::enums::Role;
use serde_json::{Value, json};

use crate::clocked;
use crate::lives::{COMPLETE, Life, SEND, instant};
use crate::scenario::{ACCEPT, offered_to, setup};
use crate::support::{Backend, TestApp};

const STATS: &str = "query($filter: ChatFilter) {
  chatStats(filter: $filter) {
    count
    timeToAccept { count average median p90 }
    firstResponseTime { count average median p90 }
    duration { count average median p90 }
    handlingTime { count average median p90 }
  }
}";

/// How many requests the cache answered each way: (hit, read, extended).
async fn cache_counts(app: &TestApp) -> (f64, f64, f64) {
    let text = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let count = |result: &str| {
        let series = format!("switchboard_chat_stats_cache_total{{result=\"{result}\"}} ");
        text.lines().find_map(|line| line.strip_prefix(&series)?.parse().ok()).unwrap_or(0.0)
    };
    (count("hit"), count("read"), count("extended"))
}

/// Asserts a duration's figures: count, average, median and 90th percentile (seconds).
fn figures(group: &Value, name: &str, count: i64, average: f64, median: f64, p90: f64) {
    let figure = &group[name];
    assert_eq!(figure["count"], count, "{name}: {figure}");
    for (field, want) in [("average", average), ("median", median), ("p90", p90)] {
        let got = figure[field].as_f64().unwrap_or_else(|| panic!("{name}.{field}: {figure}"));
        assert!((got - want).abs() < 1e-6, "{name}.{field}: {got} != {want}");
    }
}

async fn stats_cache_stays_exact(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let agent = s.agents[0].2.clone();
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    let at = |t: &str| instant(&format!("2026-05-01T{t}Z"));
    let filter =
        json!({ "filter": { "created": { "from": "2026-05-01T00:00:00Z", "to": "2026-05-02T00:00:00Z" } } });
    let stats = || async { app.ok(Some(&analyst), STATS, filter.clone()).await["chatStats"][0].clone() };

    // Two chats completed, then one waiting: the oldest open chat. The kept part is the two
    // completed ones; the waiting one is read at every request.
    Life::done(at("10:00:00"), 60, 120, 600).live(&app, &s, &agent, 9500).await;
    Life::done(at("10:30:00"), 30, 90, 300).live(&app, &s, &agent, 9501).await;
    let waiting = Life::waiting(at("11:00:00")).live(&app, &s, &agent, 9502).await;
    clock::freeze(at("11:30:00"));
    let first = stats().await;
    assert_eq!(first["count"], 3);
    figures(&first, "timeToAccept", 2, 45.0, 45.0, 57.0);
    figures(&first, "firstResponseTime", 2, 105.0, 105.0, 117.0);
    figures(&first, "duration", 2, 450.0, 450.0, 570.0);
    figures(&first, "handlingTime", 2, 405.0, 405.0, 513.0);
    assert_eq!(cache_counts(&app).await, (0.0, 1.0, 0.0));
    assert_eq!(stats().await, first);
    assert_eq!(cache_counts(&app).await, (1.0, 1.0, 0.0));

    // A chat created and completed after the kept part: read with the open ones, combined.
    Life::done(at("11:40:00"), 90, 150, 900).live(&app, &s, &agent, 9503).await;
    let second = stats().await;
    assert_eq!(second["count"], 4);
    figures(&second, "timeToAccept", 3, 60.0, 60.0, 84.0);
    figures(&second, "firstResponseTime", 3, 120.0, 120.0, 144.0);
    figures(&second, "duration", 3, 600.0, 600.0, 840.0);
    figures(&second, "handlingTime", 3, 540.0, 540.0, 756.0);
    assert_eq!(cache_counts(&app).await, (2.0, 1.0, 0.0));

    // The waiting chat is accepted, answered and completed: nothing is open, so once the
    // clock is 15 minutes past, the kept part is extended to it.
    clock::freeze(at("12:00:00"));
    offered_to(&app, &agent, &waiting).await;
    app.ok(Some(&agent), ACCEPT, json!({ "id": waiting })).await;
    clock::freeze(at("12:01:00"));
    app.ok(Some(&agent), SEND, json!({ "input": { "chatId": waiting, "text": "hello" } })).await;
    clock::freeze(at("12:10:00"));
    app.ok(Some(&agent), COMPLETE, json!({ "id": waiting })).await;
    clock::freeze(at("12:30:00"));
    let third = stats().await;
    assert_eq!(third["count"], 4);
    // Times to accept 30, 60, 90, 3600 s; first responses 90, 120, 150, 3660; durations 300,
    // 600, 900, 4200; handling times 270, 540, 600, 810.
    figures(&third, "timeToAccept", 4, 945.0, 75.0, 90.0 + 3510.0 * 0.7);
    figures(&third, "firstResponseTime", 4, 1005.0, 135.0, 150.0 + 3510.0 * 0.7);
    figures(&third, "duration", 4, 1500.0, 750.0, 900.0 + 3300.0 * 0.7);
    figures(&third, "handlingTime", 4, 555.0, 570.0, 600.0 + 210.0 * 0.7);
    assert_eq!(cache_counts(&app).await, (2.0, 1.0, 1.0));
    assert_eq!(stats().await, third);
    assert_eq!(cache_counts(&app).await, (3.0, 1.0, 1.0));

    // A chat that appears with a creation time inside the kept part (a clock set back, a
    // write that commits late) makes the part stale: it is read anew and counts the chat.
    Life::done(at("09:00:00"), 10, 20, 100).live(&app, &s, &agent, 9504).await;
    clock::freeze(at("12:30:00"));
    let fourth = stats().await;
    assert_eq!(fourth["count"], 5);
    figures(&fourth, "timeToAccept", 5, 758.0, 60.0, 90.0 + 3510.0 * 0.6);
    figures(&fourth, "duration", 5, 1220.0, 600.0, 900.0 + 3300.0 * 0.6);
    assert_eq!(cache_counts(&app).await, (3.0, 2.0, 1.0));
}

/// `SWITCHBOARD_STATS_CACHE_MIB=0` turns the cache off: the same figures, none of them kept.
async fn stats_cache_can_be_turned_off(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.stats_cache_mib = 0).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let agent = s.agents[0].2.clone();
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    let at = |t: &str| instant(&format!("2026-05-01T{t}Z"));
    Life::done(at("10:00:00"), 60, 120, 600).live(&app, &s, &agent, 9600).await;
    clock::freeze(at("12:00:00"));
    let filter =
        json!({ "filter": { "created": { "from": "2026-05-01T00:00:00Z", "to": "2026-05-02T00:00:00Z" } } });
    for _ in 0..2 {
        let group = app.ok(Some(&analyst), STATS, filter.clone()).await["chatStats"][0].clone();
        assert_eq!(group["count"], 1);
        figures(&group, "duration", 1, 600.0, 600.0, 600.0);
    }
    assert_eq!(cache_counts(&app).await, (0.0, 0.0, 0.0));
}

clocked!(stats_cache_stays_exact, stats_cache_can_be_turned_off);
