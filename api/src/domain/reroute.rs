//! What a committed write leaves to route: the chats it opened or released, the agents who may
//! have a free slot, the queues whose members or rules changed.
//!
//! A write that frees or fills a capacity slot does not call routing itself. It returns its
//! result wrapped in an [`AfterCommit`], and the only way to take the result out is
//! `AfterCommit::routed` (in `routing/`, the one module that routes), which runs the routing
//! pass first. Forgetting it is a compile error: both types are `#[must_use]` and the workspace
//! denies warnings. So the writers (agents, sessions, queues, settings, lifecycle) stay free of
//! routing, and routing, which reads presence, queues and settings, imports none of them back.

use super::ids::{AgentId, ChatId, QueueId};

/// What to route after a commit. Empty when the write changed nothing routing cares about.
#[must_use = "a write's re-routing must run after its commit (wrap it in an AfterCommit)"]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reroute {
    chats: Vec<ChatId>,
    agents: Vec<AgentId>,
    queues: Vec<QueueId>,
    every_queue: bool,
}

impl Reroute {
    /// Nothing to route.
    pub fn none() -> Self {
        Self::default()
    }

    /// Chats that are WAITING with nobody directed (opened, released, lapsed).
    pub fn chats(chats: impl IntoIterator<Item = ChatId>) -> Self {
        Self { chats: chats.into_iter().collect(), ..Self::default() }
    }

    /// Agents who may have a free slot now (went ACTIVE, signed in, completed or transferred
    /// a chat): the waiting chats of their queues.
    pub fn agents(agents: impl IntoIterator<Item = AgentId>) -> Self {
        Self { agents: agents.into_iter().collect(), ..Self::default() }
    }

    /// A queue whose members or rule changed: its waiting chats.
    pub fn queue(queue: QueueId) -> Self {
        Self { queues: vec![queue], ..Self::default() }
    }

    /// Every queue's waiting chats (a capacity setting changed).
    pub fn every_queue() -> Self {
        Self { every_queue: true, ..Self::default() }
    }

    /// Both this and `other`.
    pub fn and(mut self, other: Reroute) -> Self {
        self.chats.extend(other.chats);
        self.agents.extend(other.agents);
        self.queues.extend(other.queues);
        self.every_queue |= other.every_queue;
        self
    }

    /// Whether there is nothing to route.
    pub fn is_empty(&self) -> bool {
        self.chats.is_empty() && self.agents.is_empty() && self.queues.is_empty() && !self.every_queue
    }

    /// The chats to route, in order.
    pub fn chat_ids(&self) -> &[ChatId] {
        &self.chats
    }

    /// The agents who may have a free slot.
    pub fn agent_ids(&self) -> &[AgentId] {
        &self.agents
    }

    /// The queues to route.
    pub fn queue_ids(&self) -> &[QueueId] {
        &self.queues
    }

    /// Whether every queue is to be routed.
    pub fn is_every_queue(&self) -> bool {
        self.every_queue
    }
}

/// The result of a committed write together with what it left to route. The result comes out
/// only through `AfterCommit::routed(db)` (defined in `routing/`), which routes first.
#[must_use = "the write has committed: `.routed(db).await` routes what it freed or filled and gives its result"]
#[derive(Debug)]
pub struct AfterCommit<T> {
    value: T,
    reroute: Reroute,
}

impl<T> AfterCommit<T> {
    /// `value`, once `reroute` has run.
    pub fn new(value: T, reroute: Reroute) -> Self {
        Self { value, reroute }
    }

    /// `value`, with nothing to route.
    pub fn nothing(value: T) -> Self {
        Self::new(value, Reroute::none())
    }

    /// What will be routed.
    pub fn reroute(&self) -> &Reroute {
        &self.reroute
    }

    /// Changes the result, keeping what is to be routed.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> AfterCommit<U> {
        AfterCommit { value: f(self.value), reroute: self.reroute }
    }

    /// Splits the result from its re-routing. Only the after-commit step in `routing/` may
    /// call this (a test checks), so nobody else can take a result and drop its routing.
    pub(super) fn take_for_routing(self) -> (T, Reroute) {
        (self.value, self.reroute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_up() {
        let both =
            Reroute::chats([ChatId(1)]).and(Reroute::agents([AgentId(2)])).and(Reroute::queue(QueueId(3)));
        assert_eq!(both.chat_ids(), [ChatId(1)]);
        assert_eq!(both.agent_ids(), [AgentId(2)]);
        assert_eq!(both.queue_ids(), [QueueId(3)]);
        assert!(!both.is_every_queue());
        assert!(Reroute::none().is_empty());
        assert!(!Reroute::every_queue().is_empty());
        assert!(Reroute::none().and(Reroute::every_queue()).is_every_queue());
    }

    /// The rule this module exists for, as a check. Routing runs in one place: only
    /// `routing/` takes a result out of an [`AfterCommit`] or calls the routing step, and
    /// the modules routing reads (presence, queues, settings) and the writers that return a
    /// [`Reroute`] never import routing, so no module pair imports each other.
    /// Modules that must not import routing: the writers that return a [`Reroute`], and the
    /// leaves routing reads.
    const WRITERS_AND_LEAVES: [&str; 6] =
        ["agents", "sessions", "queues", "settings", "presence", "lifecycle"];

    /// The domain module a file under `domain/` belongs to: `lifecycle` for `lifecycle.rs`
    /// and for every file under `lifecycle/`.
    fn module_of(path: &std::path::Path) -> Option<String> {
        let mut parts = path.strip_prefix("domain").ok()?.components();
        let first = parts.next()?.as_os_str().to_str()?;
        Some(first.strip_suffix(".rs").unwrap_or(first).to_owned())
    }

    /// Whether source code (comments aside) names the routing module: a `routing::` path or
    /// `routing` in a `use` list.
    fn imports_routing(code: &str) -> bool {
        let code: String =
            code.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        let names_routing = |text: &str| {
            text.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|word| word == "routing")
        };
        code.contains("routing::")
            || code
                .split("use ")
                .skip(1)
                .any(|rest| names_routing(rest.split(';').next().unwrap_or_default()))
    }

    #[test]
    fn a_file_belongs_to_the_module_of_its_folder() {
        assert_eq!(module_of(std::path::Path::new("domain/lifecycle.rs")).as_deref(), Some("lifecycle"));
        assert_eq!(
            module_of(std::path::Path::new("domain/routing/background.rs")).as_deref(),
            Some("routing")
        );
        assert_eq!(module_of(std::path::Path::new("graphql/x.rs")), None);
    }

    #[test]
    fn the_import_check_sees_imports() {
        assert!(imports_routing("use super::{presence, routing};"));
        assert!(imports_routing("use super::routing::{self, locked};"));
        assert!(imports_routing("fn f() { crate::domain::routing::x() }"));
        assert!(!imports_routing(
            "use entity::enums::RoutingRule;\n// routing::route_chat\nlet routing_rule = 1;"
        ));
    }

    #[test]
    fn routing_runs_only_in_its_after_commit_step() {
        let mut checked = 0;
        for file in crate::source_files::under("domain") {
            let Some(module) = module_of(&file.path) else { continue };
            if module == "routing" || module == "reroute" {
                continue;
            }
            let name = file.path.display();
            let code = file.code();
            for forbidden in ["routing::route_", "after_commit(", "take_for_routing"] {
                assert!(
                    !code.contains(forbidden),
                    "{name} uses `{forbidden}`: return a Reroute (or an AfterCommit) and let \
                     routing's after-commit step run it"
                );
            }
            if WRITERS_AND_LEAVES.contains(&module.as_str()) {
                assert!(
                    !imports_routing(code),
                    "{name} imports routing, which imports it (or its neighbours) back"
                );
            }
            checked += 1;
        }
        assert!(checked > 40, "the domain folder was not found where expected");
    }
}
