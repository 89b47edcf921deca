// Drives the GraphiQL page of a running Switchboard server in headless Chromium, as a person
// would: the docs explorer shows `Query`, a login mutation typed into the editor returns a
// token, the token goes into the Headers tab once (and is still there after a reload), a
// query then runs as the signed-in agent, and a subscription started from the editor receives
// an event over the page's WebSocket.
//
// The browser may reach loopback only: host names other than 127.0.0.1 resolve to nothing,
// and any request (or WebSocket) to another host fails the run, as does a Content-Security-
// Policy violation or an uncaught error in the page.
//
// Usage: node tests/browser/graphiql.mjs BASE_URL EMAIL PASSWORD
// (CHROMIUM overrides the browser, /usr/bin/chromium by default). Run by tests/e2e/graphiql.rs.
import { chromium } from "playwright-core";

const [base, email, password] = process.argv.slice(2);
if (!base || !email || !password) {
  console.error("usage: node graphiql.mjs BASE_URL EMAIL PASSWORD");
  process.exit(2);
}
const TIMEOUT = 60_000;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
// The visible one of the Variables and Headers editors (the page opens on Headers).
const HEADERS = ".graphiql-editor-tool .graphiql-editor:not(.hidden)";

const problems = [];
const isLoopback = (url) => {
  const { protocol, hostname } = new URL(url);
  return protocol === "data:" || protocol === "blob:" || LOOPBACK.has(hostname);
};

function step(what) {
  console.log(`graphiql.mjs: ${what}`);
}

// Reads a CodeMirror 5 editor of the page (GraphiQL 3's editors).
async function editorText(page, selector) {
  return page.locator(`${selector} .CodeMirror`).first().evaluate((node) => node.CodeMirror.getValue());
}

// Replaces an editor's text by typing into it, as a person would (select all, then type).
async function typeInto(page, selector, text) {
  await page.locator(`${selector} .CodeMirror`).first().click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  // insertText types the text as one input, so the editor's bracket auto-closing does not
  // double the braces.
  await page.keyboard.insertText(text);
  const typed = await editorText(page, selector);
  if (typed !== text) throw new Error(`the editor holds ${JSON.stringify(typed)}, not what was typed`);
}

// Types an operation into the query editor and waits until GraphiQL has parsed it (it does so
// shortly after an edit), so that Run sends this operation's name.
async function typeOperation(page, name, text) {
  await typeInto(page, ".graphiql-query-editor", text);
  const editor = await page.locator(".graphiql-query-editor .CodeMirror").first().elementHandle();
  await page.waitForFunction(([node, name]) => node.CodeMirror.operationName === name, [editor, name], {
    timeout: TIMEOUT,
  });
}

// Runs the query editor's operation and waits for a result matching `done`.
async function run(page, done) {
  await page.getByRole("button", { name: /Execute query/ }).click();
  let last = "";
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    last = await editorText(page, ".result-window");
    if (done(last)) return last;
    await page.waitForTimeout(50);
  }
  throw new Error(`timed out waiting for a result; the result pane shows: ${last}`);
}

async function graphql(query, token) {
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return response.json();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // Nothing but loopback resolves, whatever the page asks for.
  args: ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
  timeout: TIMEOUT,
});
try {
  const context = await browser.newContext();
  context.setDefaultTimeout(TIMEOUT);
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (isLoopback(url)) return route.continue();
    problems.push(`request to another host: ${url}`);
    return route.abort("blockedbyclient");
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
    });
  });
  const sockets = [];
  context.on("page", (page) => {
    page.on("pageerror", (error) => problems.push(`uncaught error in the page: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    page.on("websocket", (socket) => {
      if (!isLoopback(socket.url())) problems.push(`WebSocket to another host: ${socket.url()}`);
      sockets.push(socket);
    });
  });

  const page = await context.newPage();

  step("GraphiQL at /");
  await page.goto(`${base}/`);
  await page.locator(".graphiql-container").waitFor();

  step("GraphiQL at /graphiql, the docs explorer shows Query");
  await page.goto(`${base}/graphiql`);
  await page.getByRole("button", { name: /Documentation Explorer/ }).click();
  await page.locator(".graphiql-doc-explorer a.graphiql-doc-explorer-type-name", { hasText: /^Query$/ }).first().waitFor();

  step("the Headers tab starts with an Authorization header to complete");
  const initialHeaders = JSON.parse(await editorText(page, HEADERS));
  if (initialHeaders.Authorization !== "Bearer ") {
    throw new Error(`the Headers tab starts with ${JSON.stringify(initialHeaders)}`);
  }

  step("a login mutation typed into the editor returns a token");
  await typeOperation(
    page,
    "SignIn",
    `mutation SignIn {\n  login(email: ${JSON.stringify(email)}, password: ${JSON.stringify(password)}) {\n    token\n  }\n}\n`,
  );
  const login = JSON.parse(await run(page, (text) => text.includes('"login"') || text.includes('"errors"')));
  const token = login?.data?.login?.token;
  if (typeof token !== "string" || token.length < 10) throw new Error(`no token in ${JSON.stringify(login)}`);

  step("the token goes into the Headers tab once, and stays there after a reload");
  await typeInto(page, HEADERS, JSON.stringify({ Authorization: `Bearer ${token}` }));
  // GraphiQL saves its editors' contents to localStorage shortly after an edit.
  await page.waitForFunction(
    (token) => Object.keys(localStorage).some((key) => (localStorage.getItem(key) || "").includes(token)),
    token,
    { timeout: TIMEOUT },
  );
  await page.reload();
  await page.locator(".graphiql-container").waitFor();
  const kept = JSON.parse(await editorText(page, HEADERS));
  if (kept.Authorization !== `Bearer ${token}`) throw new Error(`after a reload the headers are ${JSON.stringify(kept)}`);

  step("a query runs as the signed-in agent");
  await typeOperation(page, "Me", "query Me {\n  me {\n    email\n  }\n}\n");
  const me = JSON.parse(await run(page, (text) => text.includes('"me"') || text.includes('"errors"')));
  if (me?.data?.me?.email !== email) throw new Error(`me answered ${JSON.stringify(me)}`);

  step("a subscription started from the editor receives an event over the page's WebSocket");
  await typeOperation(
    page,
    "Statuses",
    "subscription Statuses {\n  agentStatusChanged {\n    agent {\n      email\n      status\n    }\n  }\n}\n",
  );
  await page.getByRole("button", { name: /Execute query/ }).click();
  const expected = new URL("/graphql/ws", base);
  expected.protocol = "ws:";
  const deadline = Date.now() + TIMEOUT;
  let status = "ACTIVE";
  let shown = "";
  // Until the subscription is registered on the server an event may come too early, so the
  // status is switched back and forth until the result pane shows one.
  while (!shown.includes('"agentStatusChanged"')) {
    if (Date.now() > deadline) throw new Error(`no event arrived; the result pane shows: ${shown}`);
    if (sockets.some((socket) => socket.url() === expected.href)) {
      const changed = await graphql(`mutation { setMyStatus(status: ${status}) { status } }`, token);
      if (changed.errors) throw new Error(`setMyStatus failed: ${JSON.stringify(changed)}`);
      status = status === "ACTIVE" ? "INACTIVE" : "ACTIVE";
    }
    await page.waitForTimeout(200);
    shown = await editorText(page, ".result-window");
  }
  if (!shown.includes(JSON.stringify(email))) throw new Error(`the event is not about the agent: ${shown}`);

  if (problems.length) throw new Error(`the page was not self-contained:\n  ${problems.join("\n  ")}`);
  step("all checks passed");
} catch (error) {
  console.error(`graphiql.mjs: FAILED: ${error.stack || error}`);
  if (problems.length && !String(error.message).includes(problems[0])) {
    console.error(`graphiql.mjs: also seen:\n  ${problems.join("\n  ")}`);
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
