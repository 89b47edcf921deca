// Starts GraphiQL against this server: HTTP at /graphql, subscriptions over WebSocket at
// /graphql/ws (ws: or wss: as the page itself was loaded). Everything this page loads comes
// from the server itself (see api/src/http/graphiql.rs); it makes no other request.
(function () {
  "use strict";

  var BEARER = "Bearer ";
  var graphqlUrl = new URL("/graphql", window.location.href).href;
  var websocketUrl = new URL("/graphql/ws", window.location.href);
  websocketUrl.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";

  // The Headers tab starts with an Authorization header to complete once; GraphiQL keeps the
  // headers in this browser's localStorage (shouldPersistHeaders). Until a token is pasted in,
  // the empty "Bearer " is left out of requests, so signing in works from the start.
  var defaultHeaders = JSON.stringify({ Authorization: BEARER }, null, 2);
  var defaultQuery = [
    "# Sign in:",
    '#   mutation { login(email: "…", password: "…") { token } }',
    '# then put the token after "Bearer " in Headers below:',
    "# it is kept in this browser and sent with every request.",
    "",
    "query Me {",
    "  me { id name email role }",
    "}",
    "",
  ].join("\n");

  function withoutEmptyBearer(headers) {
    var kept = {};
    Object.keys(headers || {}).forEach(function (name) {
      var value = headers[name];
      var empty = name.toLowerCase() === "authorization" && String(value).trim().toLowerCase() === "bearer";
      if (!empty) kept[name] = value;
    });
    return kept;
  }

  var send = GraphiQL.createFetcher({ url: graphqlUrl, subscriptionUrl: websocketUrl.href });
  function fetcher(params, options) {
    var opts = Object.assign({}, options, { headers: withoutEmptyBearer(options && options.headers) });
    return send(params, opts);
  }

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: defaultHeaders,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: "headers",
    }),
  );
})();
