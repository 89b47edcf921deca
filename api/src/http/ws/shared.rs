//! Subscriptions executed once for every subscriber that asks the same thing.
//!
//! Subscribers of one session that send the same subscription (same document, operation
//! name and variables, no `after`) join one *group*: the group runs the subscription once,
//! serialises each response once, and hands the bytes to every member; a member's frame is
//! only the `{"id": …, "type": "next", "payload": …}` wrapper around them. Everything else a
//! stream does (access re-checks, the bus's bounded queue and SUBSCRIPTION_OVERFLOW, the end
//! of a session) happens once per group, for the session all its members share. The key
//! holds the whole session (agent, role and session id), so nothing one caller may see
//! reaches another.
//!
//! A subscription with `after` replays the log from that id, which depends on when it
//! started: it gets a group of its own, as do queries and mutations sent over the socket.
//! A subscriber joining a running group receives what the group yields from then on: every
//! event committed after it subscribed, and possibly one or two committed just before that
//! were still on their way (a subscription without `after` promises no more than the
//! former).
//!
//! A member whose connection falls more than `SWITCHBOARD_SUBSCRIPTION_BUFFER` frames
//! behind (a client not reading its socket) is cut off alone with SUBSCRIPTION_OVERFLOW,
//! naming the last event it was sent; the group goes on for the others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Data, Request, Response, Value};
use axum::extract::ws::Utf8Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::outbox::{Outbox, Outgoing, Pushed};
use super::sharing::{Sharing, Template, one_root_field, sharing};
use crate::domain::sessions::Principal;
use crate::graphql::AppSchema;
use crate::graphql::detached::{Detach, OneEvent};
use crate::graphql::error::coded;
use crate::graphql::subscriptions::SharedStream;
use crate::metrics::{Metrics, Open};

/// What makes two subscriptions the same.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    principal: Principal,
    query: String,
    operation_name: Option<String>,
    variables: String,
}

/// One subscriber: an operation id on a connection.
struct Member {
    token: u64,
    /// The operation id as a JSON string, ready for the frame.
    id: String,
    outbox: Outbox,
    /// The id of the last event sent to this member.
    last: i64,
    /// Whether it is a subscription (counted in `switchboard_subscriptions_active` once its
    /// stream is live).
    counted: bool,
    active: Option<Open>,
}

#[derive(Default)]
struct Members {
    list: Vec<Member>,
    /// The group's stream has ended (or its last member left): nobody joins any more.
    ended: bool,
    /// The stream listens (see [`SharedStream::live`]).
    live: bool,
}

/// One running subscription and the subscribers it serves.
struct Group {
    key: Option<Key>,
    members: Mutex<Members>,
    /// The id of the event behind the response being delivered (set by the stream).
    cursor: Arc<AtomicI64>,
    task: OnceLock<tokio::task::AbortHandle>,
    _running: Open,
}

/// The running groups of one server.
pub struct SharedSubscriptions {
    schema: AppSchema,
    /// Frames a connection may fall behind (`SWITCHBOARD_SUBSCRIPTION_BUFFER`).
    buffer: usize,
    metrics: Metrics,
    groups: Mutex<HashMap<Key, Arc<Group>>>,
    next_token: AtomicU64,
}

impl std::fmt::Debug for SharedSubscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSubscriptions").field("groups", &self.groups().len()).finish()
    }
}

/// A member's place in its group; leaving the group when dropped (on `complete` or when the
/// connection closes). The last member to leave stops the group.
pub struct Membership {
    registry: Arc<SharedSubscriptions>,
    group: Arc<Group>,
    token: u64,
}

impl Membership {
    /// Names this membership in [`Outgoing::Complete`].
    pub fn token(&self) -> u64 {
        self.token
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.registry.leave(&self.group, self.token);
    }
}

impl SharedSubscriptions {
    /// No groups yet, on `schema`; a connection may fall `buffer` frames behind;
    /// subscribers are counted in `metrics`.
    pub fn new(schema: AppSchema, buffer: usize, metrics: Metrics) -> Arc<Self> {
        Arc::new(Self { schema, buffer, metrics, groups: Mutex::default(), next_token: AtomicU64::new(1) })
    }

    /// A queue for a new connection.
    pub fn outbox(&self) -> (Outbox, super::outbox::Inbox) {
        super::outbox::channel(self.buffer)
    }

    fn groups(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Group>>> {
        self.groups.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `request` (its `document` when it parsed within the limits) for operation `id`
    /// of a connection signed in as `principal` (its context `data`), sending what it yields
    /// to `outbox`: in a running group when one asks the same, else in a new one.
    pub fn subscribe(
        self: &Arc<Self>,
        principal: &Principal,
        data: Arc<Data>,
        (request, document): (Request, Option<&ExecutableDocument>),
        id: &str,
        outbox: Outbox,
    ) -> Membership {
        let sharing = document.map_or(Sharing::Single, |document| sharing(&request, document));
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let member = Member {
            token,
            id: serde_json::to_string(id).expect("a string serialises"),
            outbox,
            last: 0,
            counted: sharing != Sharing::Single,
            active: None,
        };
        let key = (sharing == Sharing::Shared).then(|| Key {
            principal: principal.clone(),
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables: serde_json::to_string(&request.variables).expect("variables serialise"),
        });
        let mut groups = self.groups();
        if let Some(key) = &key
            && let Some(group) = groups.get(key)
        {
            let mut members = lock(&group.members);
            if !members.ended {
                let mut member = member;
                if members.live && member.counted {
                    member.active = Some(self.metrics.subscription_started());
                }
                members.list.push(member);
                return Membership { registry: self.clone(), group: group.clone(), token };
            }
        }
        let group = Arc::new(Group {
            key: key.clone(),
            members: Mutex::new(Members { list: vec![member], ended: false, live: false }),
            cursor: Arc::default(),
            task: OnceLock::new(),
            _running: self.metrics.subscription_stream_started(),
        });
        if let Some(key) = key {
            groups.insert(key, group.clone());
        }
        drop(groups);
        let live = {
            let (group, metrics) = (Arc::downgrade(&group), self.metrics.clone());
            Arc::new(move || {
                let Some(group) = group.upgrade() else { return };
                let mut members = lock(&group.members);
                members.live = true;
                for member in
                    members.list.iter_mut().filter(|member| member.counted && member.active.is_none())
                {
                    member.active = Some(metrics.subscription_started());
                }
            })
        };
        // A subscription of one root field is run by the group (see `graphql::detached`).
        let detached = (sharing != Sharing::Single && one_root_field(&request, document))
            .then(|| (Detach::default(), Template::of(&request)));
        let mut request = request.data(SharedStream { cursor: group.cursor.clone(), live });
        if let Some((detach, _)) = &detached {
            request = request.data(detach.clone());
        }
        let task = tokio::spawn(self.clone().run(group.clone(), Box::new(request), data, detached));
        let _ = group.task.set(task.abort_handle());
        Membership { registry: self.clone(), group, token }
    }

    /// Delivers the group's responses until its stream ends, then completes every member. A
    /// detached subscription's first execution hands its events over and yields nothing; each
    /// event is then executed on its own.
    async fn run(
        self: Arc<Self>,
        group: Arc<Group>,
        request: Box<Request>,
        data: Arc<Data>,
        detached: Option<(Detach, Template)>,
    ) {
        // Made in the task that polls it. The request is boxed (an argument stays in the
        // task's state as long as it runs, and a `Request` is ~350 bytes) and the box freed
        // once the stream has it.
        let mut stream = {
            let request = request;
            self.schema.execute_stream_with_session_data(*request, data.clone())
        };
        if !self.deliver_all(&group, &mut stream).await {
            return;
        }
        drop(stream);
        if let Some((detach, template)) = detached
            && let Some(mut events) = detach.take()
        {
            let _detached = self.metrics.detached_stream_started();
            while let Some(item) = events.next().await {
                let request = template.request().data(OneEvent::new(item));
                let mut once = self.schema.execute_stream_with_session_data(request, data.clone());
                if !self.deliver_all(&group, &mut once).await {
                    return;
                }
            }
        }
        self.end(&group);
    }

    /// Delivers what `stream` yields to the group's members; false when none is left (the
    /// group has ended).
    async fn deliver_all(&self, group: &Arc<Group>, stream: &mut BoxStream<'static, Response>) -> bool {
        while let Some(response) = stream.next().await {
            // A response with no data is the stream's own error (session ended, overflow):
            // it is not about an event.
            let event =
                if response.data == Value::Null { None } else { Some(group.cursor.load(Ordering::SeqCst)) };
            let payload = serde_json::to_string(&response).expect("a response serialises");
            let mut frames = Frames { payload: &payload, made: Vec::new() };
            let mut members = lock(&group.members);
            members.list.retain_mut(|member| {
                let frame = frames.frame(&member.id);
                deliver(member, frame, event)
            });
            if members.list.is_empty() {
                drop(members);
                self.end(group);
                return false;
            }
        }
        true
    }

    /// Ends a group: no one joins it any more, and every member is sent `complete`.
    fn end(&self, group: &Arc<Group>) {
        let mut groups = self.groups();
        if let Some(key) = &group.key
            && groups.get(key).is_some_and(|running| Arc::ptr_eq(running, group))
        {
            groups.remove(key);
        }
        let mut members = lock(&group.members);
        members.ended = true;
        for member in members.list.drain(..) {
            member.outbox.push(Outgoing::Complete { id: member.id, token: member.token });
        }
    }

    /// Takes member `token` out of `group`; stops the group when it was the last.
    fn leave(&self, group: &Arc<Group>, token: u64) {
        let mut groups = self.groups();
        let mut members = lock(&group.members);
        members.list.retain(|member| member.token != token);
        if members.list.is_empty() && !members.ended {
            members.ended = true;
            if let Some(key) = &group.key
                && groups.get(key).is_some_and(|running| Arc::ptr_eq(running, group))
            {
                groups.remove(key);
            }
            if let Some(task) = group.task.get() {
                task.abort();
            }
        }
    }
}

fn lock(members: &Mutex<Members>) -> std::sync::MutexGuard<'_, Members> {
    members.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `next` frame of operation `id` (JSON-encoded) around a serialised response.
fn next_frame(id: &str, payload: &str) -> String {
    format!(r#"{{"id":{id},"type":"next","payload":{payload}}}"#)
}

/// The `next` frames of one response, each made once per operation id: the members of a
/// group mostly share one (client libraries number their operations from 1), so 10,000 of
/// them share one frame's bytes instead of 10,000 copies.
struct Frames<'a> {
    payload: &'a str,
    /// The frames made so far (a few: ids beyond them get a frame each).
    made: Vec<(String, Utf8Bytes)>,
}

impl Frames<'_> {
    const KEPT: usize = 8;

    fn frame(&mut self, id: &str) -> Utf8Bytes {
        if let Some((_, frame)) = self.made.iter().find(|(made, _)| made == id) {
            return frame.clone();
        }
        let frame = Utf8Bytes::from(next_frame(id, self.payload));
        if self.made.len() < Self::KEPT {
            self.made.push((id.to_owned(), frame.clone()));
        }
        frame
    }
}

/// Sends `frame` to `member`; false when the member is cut off (its connection fell too far
/// behind, or closed).
fn deliver(member: &mut Member, frame: Utf8Bytes, event: Option<i64>) -> bool {
    match member.outbox.push_frame(frame) {
        Pushed::Queued => {
            if let Some(event) = event {
                member.last = event;
            }
            true
        }
        Pushed::Closed => false,
        Pushed::Full(behind) => {
            let error = coded(
                "SUBSCRIPTION_OVERFLOW",
                format!(
                    "this subscriber fell {behind} events behind; resubscribe with after: \"{}\"",
                    member.last
                ),
            );
            let response = Response::from_errors(vec![error.into_server_error(Default::default())]);
            let payload = serde_json::to_string(&response).expect("a response serialises");
            member.outbox.push(Outgoing::Frame(next_frame(&member.id, &payload).into()));
            member
                .outbox
                .push(Outgoing::Complete { id: std::mem::take(&mut member.id), token: member.token });
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::outbox::channel;
    use super::*;

    #[tokio::test]
    async fn a_member_that_falls_behind_is_cut_off_alone_naming_its_last_event() {
        let (outbox, mut inbox) = channel(1);
        let mut member =
            Member { token: 9, id: "\"s\"".into(), outbox, last: 0, counted: true, active: None };
        let frame = |n: u8| {
            Frames { payload: &format!(r#"{{"data":{{"n":{n}}}}}"#), made: Vec::new() }.frame("\"s\"")
        };
        assert!(deliver(&mut member, frame(1), Some(5)));
        assert_eq!(member.last, 5);
        // The first frame is not written yet: the second is refused and the member told.
        assert!(!deliver(&mut member, frame(2), Some(6)));
        let Outgoing::Next(first) = inbox.recv().await else { panic!("the first frame") };
        assert_eq!(first.as_str(), r#"{"id":"s","type":"next","payload":{"data":{"n":1}}}"#);
        let Outgoing::Frame(error) = inbox.recv().await else { panic!("the overflow error") };
        let error: serde_json::Value = serde_json::from_str(error.as_str()).unwrap();
        assert_eq!(error["id"], "s");
        assert_eq!(error["payload"]["errors"][0]["extensions"]["code"], "SUBSCRIPTION_OVERFLOW");
        let message = error["payload"]["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(r#"after: "5""#), "{message}");
        assert!(matches!(inbox.recv().await, Outgoing::Complete { token: 9, .. }));
    }

    #[test]
    fn members_with_one_operation_id_share_one_frame() {
        let mut frames = Frames { payload: r#"{"data":{}}"#, made: Vec::new() };
        let (a, b, other) = (frames.frame("\"1\""), frames.frame("\"1\""), frames.frame("\"2\""));
        assert_eq!(a.as_str(), r#"{"id":"1","type":"next","payload":{"data":{}}}"#);
        assert_eq!(a.as_str().as_ptr(), b.as_str().as_ptr(), "the same bytes");
        assert_eq!(other.as_str(), r#"{"id":"2","type":"next","payload":{"data":{}}}"#);
        for n in 3..20 {
            frames.frame(&format!("\"{n}\""));
        }
        assert_eq!(frames.made.len(), Frames::KEPT);
    }
}
