//! Automatic persisted queries in Apollo's protocol, GET caching with ETags, and the
//! GraphQL-over-HTTP details front-end tooling relies on (issue 11, items 4, 5 and 9).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::lifecycle::app_database_url;
use crate::on_both_backends;
use crate::support::{Backend, TestApp};

const QUERY: &str = "query Typename { __typename }";

fn hash(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(app: &TestApp, body: Value) -> Value {
    app.http.post(format!("{}/graphql", app.base)).json(&body).send().await.unwrap().json().await.unwrap()
}

async fn apollo_persisted_queries_over_post(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let h = hash(QUERY);
    // Unknown: Apollo's link then sends the text with the hash.
    let unknown = post(&app, json!({ "extensions": persisted(&h) })).await;
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(unknown["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND");
    let registered = post(&app, json!({ "query": QUERY, "extensions": persisted(&h) })).await;
    assert_eq!(registered["data"]["__typename"], "Query", "{registered:#}");
    let by_hash = post(&app, json!({ "extensions": persisted(&h) })).await;
    assert_eq!(by_hash["data"]["__typename"], "Query", "{by_hash:#}");
    // The hash is checked against the text.
    let forged = post(&app, json!({ "query": "{ me { id } }", "extensions": persisted(&h) })).await;
    assert_eq!(forged["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    let bad = post(&app, json!({ "extensions": persisted("not-a-hash") })).await;
    assert_eq!(bad["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    // A document that fails the limits is never registered.
    let bomb = format!(
        "{{ __typename {} }}",
        (0..200).map(|n| format!("a{n}: __typename")).collect::<Vec<_>>().join(" ")
    );
    let refused = post(&app, json!({ "query": bomb, "extensions": persisted(&hash(&bomb)) })).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
    let still_unknown = post(&app, json!({ "extensions": persisted(&hash(&bomb)) })).await;
    assert_eq!(still_unknown["errors"][0]["message"], "PersistedQueryNotFound");
    // PostgreSQL: every instance knows what one registered.
    if backend == Backend::Postgres {
        let other = TestApp::start(app_database_url(&app).await, None, |_| {}).await;
        let elsewhere = post(&other, json!({ "extensions": persisted(&h) })).await;
        assert_eq!(elsewhere["data"]["__typename"], "Query", "{elsewhere:#}");
    }
}

async fn get_queries_are_cacheable_by_url_and_etag(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let url = format!("{}/graphql", app.base);
    let h = hash(QUERY);
    let extensions = persisted(&h).to_string();
    let by_hash = app.http.get(&url).query(&[("extensions", extensions.as_str())]).send().await.unwrap();
    let body: Value = by_hash.json().await.unwrap();
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    let first =
        app.http.get(&url).query(&[("query", QUERY), ("extensions", &extensions)]).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "no-cache", "anonymous answers are revalidated");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = app
        .http
        .get(&url)
        .query(&[("extensions", extensions.as_str())])
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    // Signed in: never stored.
    let token = app.admin().await;
    let mine =
        app.http.get(&url).query(&[("query", "{ me { email } }")]).bearer_auth(&token).send().await.unwrap();
    assert_eq!(mine.headers()["cache-control"], "private, no-store");
    // An empty GET is not a GraphQL request.
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), 400);
    // POST answers are never stored.
    let posted = app.http.post(&url).json(&json!({ "query": QUERY })).send().await.unwrap();
    assert_eq!(posted.headers()["cache-control"], "no-store");
}

async fn request_errors_carry_no_data_under_graphql_response_json(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .http
        .post(format!("{}/graphql", app.base))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ nope }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("data").is_none(), "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    // A field error keeps `data` (execution happened).
    let response = app
        .http
        .post(format!("{}/graphql", app.base))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body.get("data").is_some(), "{body:#}");
}

on_both_backends!(
    apollo_persisted_queries_over_post,
    get_queries_are_cacheable_by_url_and_etag,
    request_errors_carry_no_data_under_graphql_response_json,
);
