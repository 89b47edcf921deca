//! Subscription streams run by their group rather than inside async-graphql.
//!
//! async-graphql keeps ~7 KiB of state for every running subscription (its request
//! preparation, field stream and query environment), for as long as the subscription runs,
//! though an agent's panel is idle almost all the time. A group of subscribers (see
//! `http::ws::shared`) asking for one root field instead runs the subscription's events
//! itself: the first execution hands the event stream over ([`Detach`]) and yields nothing;
//! then each event is executed on its own ([`OneEvent`]), the resolver answering with just
//! that event before doing any set-up of its own. What an idle subscriber keeps is the event
//! stream (the bus queue, the access re-checks) and the request it was made with.

use std::sync::{Arc, Mutex};

use async_graphql::Context;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::types::event::Event;
use crate::events::Published;

/// A subscription's events, or the error that ends it.
pub type Item = async_graphql::Result<Arc<Published>>;

/// A stream of [`Item`]s, ending after an error.
pub type Events = BoxStream<'static, Item>;

/// In the data of a group's first execution: where the resolver leaves its event stream (the
/// group keeps a clone to take it from).
#[derive(Clone, Default)]
pub struct Detach(Arc<Mutex<Option<Events>>>);

impl Detach {
    /// The stream handed over, if the resolver handed one.
    pub fn take(&self) -> Option<Events> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }

    fn hand_over(&self, events: Events) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(events);
    }
}

/// In the data of an execution for one event: the event (or error) the resolver yields.
pub struct OneEvent(Mutex<Option<Item>>);

impl OneEvent {
    /// An execution answering `item`.
    pub fn new(item: Item) -> Self {
        Self(Mutex::new(Some(item)))
    }
}

/// The event of an execution for one event, as the resolver's stream; `None` in any other
/// execution (the resolver then sets its stream up). Resolvers ask first, to skip their own
/// set-up; `subscriptions::stream` asks again, so no execution for one event ever starts a
/// live stream.
pub(super) fn one_event(ctx: &Context<'_>) -> Option<BoxStream<'static, async_graphql::Result<Event>>> {
    let item =
        ctx.data_opt::<OneEvent>()?.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()?;
    Some(futures_util::stream::iter([item.map(Event)]).boxed())
}

/// `events` as the resolver's stream, unless the execution is a group's first: then they are
/// handed to the group and the stream is empty.
pub(super) fn hand_over_or_run(
    ctx: &Context<'_>,
    events: Events,
) -> BoxStream<'static, async_graphql::Result<Event>> {
    match ctx.data_opt::<Detach>() {
        Some(detach) => {
            detach.hand_over(events);
            futures_util::stream::empty().boxed()
        }
        None => events.map(|item| item.map(Event)).boxed(),
    }
}
