//! Complexity with page sizes, async-graphql's own measure: the WebSocket requests'
//! documents measured before async-graphql parses them, and a refusal for complexity told by
//! how much (the document validated again, without a limit, on a schema that runs nothing).

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextValidation,
};
use async_graphql::{Request, ServerError, ServerResult, ValidationResult};

use super::{DocumentLimits, parse_off_runtime};
use crate::graphql::error::codes;

/// Measures WebSocket requests' documents before async-graphql parses them (HTTP requests
/// are measured by the document cache): the document is parsed and measured here and handed
/// on parsed. A request async-graphql then refuses for its complexity is told by how much.
pub struct Measure(pub DocumentLimits, pub Measuring);

impl ExtensionFactory for Measure {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MeasureExtension { limits: self.0, measuring: self.1.clone(), copy: Mutex::new(None) })
    }
}

struct MeasureExtension {
    limits: DocumentLimits,
    measuring: Measuring,
    /// The request as it came (a copy), to measure it again if it is refused for complexity.
    /// Boxed: a `Request` is ~400 bytes inline, held by every subscription's stream.
    copy: Mutex<Option<Box<Request>>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for MeasureExtension {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        // Taken either way: a subscription's extensions live as long as its stream.
        let copy = self.copy.lock().expect("request copy lock").take();
        let mut errors = match result {
            Ok(result) => return Ok(result),
            Err(errors) => errors,
        };
        if let Some(copy) = copy {
            explain(&self.measuring, *copy, &mut errors).await;
        }
        Err(errors)
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let mut document = parse_off_runtime(&request.query, self.limits).await?;
        // A subscription keeps its document as long as it runs.
        crate::graphql::compact::compact(&mut document);
        let mut copy = Request::new(request.query.clone()).variables(request.variables.clone());
        copy.operation_name = request.operation_name.clone();
        copy.set_parsed_query(document.clone());
        *self.copy.lock().expect("request copy lock") = Some(Box::new(copy));
        request.set_parsed_query(document);
        next.run(ctx, request).await
    }
}

/// A schema that measures complexity without running anything, and the limit the serving
/// schemas enforce.
#[derive(Clone)]
pub struct Measuring {
    /// No complexity limit; [`StopAfterValidation`] its only extension.
    pub schema: crate::graphql::AppSchema,
    /// The complexity limit of the serving schemas.
    pub max_complexity: usize,
}

/// The message async-graphql gives a document over the complexity limit.
const TOO_COMPLEX: &str = "Query is too complex.";
/// The extension key [`StopAfterValidation`] reports the measured complexity under.
const MEASURED: &str = "measuredComplexity";

/// Stops every request after validation, reporting its complexity as an error: the
/// measuring schema's only extension (see [`explain_complexity`]).
pub struct StopAfterValidation;

impl ExtensionFactory for StopAfterValidation {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(StopAfterValidation)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for StopAfterValidation {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let mut stop = ServerError::new("measured, not run", None);
        stop.extensions.get_or_insert_with(Default::default).set(MEASURED, result.complexity as u64);
        Err(vec![stop])
    }
}

/// When async-graphql refused a document for its complexity, says how much it costs and what
/// the limit is: the document is validated again, without a limit and without running, on
/// the measuring schema. `request` is a copy of the refused one (text, operation, variables).
pub async fn explain_complexity(
    measuring: &Measuring,
    request: Request,
    response: &mut async_graphql::Response,
) {
    explain(measuring, request, &mut response.errors).await;
}

/// [`explain_complexity`] on a list of errors.
async fn explain(measuring: &Measuring, request: Request, errors: &mut [ServerError]) {
    if !errors.iter().any(|err| err.message == TOO_COMPLEX) {
        return;
    }
    let measured = measuring.schema.execute(request).await;
    let cost = measured.errors.iter().find_map(|err| match err.extensions.as_ref()?.get(MEASURED)? {
        async_graphql::Value::Number(n) => n.as_u64(),
        _ => None,
    });
    for err in errors.iter_mut().filter(|err| err.message == TOO_COMPLEX) {
        err.message = match cost {
            Some(cost) => format!(
                "the query is too complex: it costs {cost} (a list field costs its page size times its selection); the limit is {}",
                measuring.max_complexity
            ),
            None => format!("the query is too complex; the limit is {}", measuring.max_complexity),
        };
        err.extensions.get_or_insert_with(Default::default).set("code", codes::QUERY_TOO_COMPLEX);
    }
}
