// A panel in a script: signs in, subscribes to `myChatEvents`, goes ACTIVE, then accepts
// the first chat offered or directed to it, reads it, answers it, and exits 0 once the
// reply's MESSAGE_SENT event has come back. Exits non-zero on any error, and on its own
// when nothing happens within PANEL_TIMEOUT_SECONDS.
//
// Environment:
//   SWITCHBOARD_URL        the server's root, e.g. http://127.0.0.1:8080 (required)
//   SWITCHBOARD_EMAIL      the agent's sign-in email (required)
//   SWITCHBOARD_PASSWORD   the agent's password (required)
//   PANEL_REPLY            the reply to send (default: a greeting)
//   PANEL_TIMEOUT_SECONDS  give up after this long (default 20)
//   PANEL_SIMULATE_DROP    "1": drop the WebSocket right after accepting, as a flaky network
//                          would; the stream resubscribes with `after` and the reply's event
//                          comes back as a replay
//
// Progress goes to stdout, one word first: SIGNED_IN, SUBSCRIBED, OFFERED, ACCEPTED, REPLIED.
import { GraphQLRequestError, HttpClient, EventStream, type ChatEvent } from './client.js';
import { AcceptChat, ChatWithMessages, MyChats, SendMessage, SetMyStatus, SignIn } from './operations.js';
import type { AgentStatus } from './gql/graphql.js';

interface Settings {
  url: string;
  email: string;
  password: string;
  reply: string;
  timeoutSeconds: number;
  simulateDrop: boolean;
}

function settings(): Settings {
  const required = (name: string): string => {
    const value = process.env[name];
    if (value === undefined || value === '') {
      throw new Error(`${name} is not set`);
    }
    return value;
  };
  const timeoutSeconds = Number(process.env.PANEL_TIMEOUT_SECONDS ?? '20');
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new Error('PANEL_TIMEOUT_SECONDS must be a positive number');
  }
  return {
    url: required('SWITCHBOARD_URL').replace(/\/+$/, ''),
    email: required('SWITCHBOARD_EMAIL'),
    password: required('SWITCHBOARD_PASSWORD'),
    reply: process.env.PANEL_REPLY ?? 'Hello! Thanks for writing, how can I help?',
    timeoutSeconds,
    simulateDrop: process.env.PANEL_SIMULATE_DROP === '1',
  };
}

/** The WebSocket endpoint next to an HTTP root: http → ws, https → wss, path /graphql/ws. */
function webSocketUrl(httpUrl: string): string {
  const url = new URL(httpUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/graphql/ws`;
  return url.toString();
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function log(line: string): void {
  process.stderr.write(`panel: ${line}\n`);
}

/** Events in arrival order, taken out by whoever waits for a matching one. */
class Inbox {
  private readonly events: ChatEvent[] = [];
  private readonly waiters: { match: (e: ChatEvent) => boolean; resolve: (e: ChatEvent) => void }[] = [];

  push(event: ChatEvent): void {
    log(`event ${event.id} ${event.kind}${event.chatId ? ` chat ${event.chatId}` : ''}`);
    const index = this.waiters.findIndex((w) => w.match(event));
    const waiter = index >= 0 ? this.waiters.splice(index, 1)[0] : undefined;
    if (waiter !== undefined) {
      waiter.resolve(event);
    } else {
      this.events.push(event);
    }
  }

  /** The first event matching `match`, waiting up to `timeoutMs` (null if none came). */
  next(match: (e: ChatEvent) => boolean, timeoutMs: number): Promise<ChatEvent | null> {
    const index = this.events.findIndex(match);
    if (index >= 0) {
      return Promise.resolve(this.events.splice(index, 1)[0] ?? null);
    }
    return new Promise((resolve) => {
      const waiter = {
        match,
        resolve: (e: ChatEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(null);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

/** The chat an event is about: `chatId` is there even when the chat is no longer readable. */
function chatOf(event: ChatEvent): string | null {
  return event.chatId ?? event.chat?.id ?? null;
}

async function main(): Promise<void> {
  const config = settings();
  const giveUp = setTimeout(() => {
    log(`nothing to do within ${config.timeoutSeconds} s; giving up`);
    process.exit(2);
  }, config.timeoutSeconds * 1000);

  const http = new HttpClient(config.url);
  const { login } = await http.request(SignIn, { email: config.email, password: config.password });
  http.setToken(login.token);
  const me = login.agent;
  say(`SIGNED_IN ${me.id}`);

  const inbox = new Inbox();
  const stream = new EventStream(webSocketUrl(config.url), login.token, {
    onEvent: (event) => inbox.push(event),
    onEnd: (error) => {
      if (error !== undefined) {
        log(`the event stream ended: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
        process.exit(1);
      }
    },
    onResync: () => log('missed events expired; the lists are reloaded below'),
    log,
  });
  stream.start();
  await stream.connected();

  // Going ACTIVE produces an AGENT_STATUS_CHANGED event about me: once it arrives, the
  // subscription is live. (A subscription has no acknowledgement of its own in the
  // protocol; if the change raced the subscription, toggle once more.)
  const setStatus = (status: AgentStatus) => http.request(SetMyStatus, { status });
  for (let attempt = 0; ; attempt += 1) {
    if (attempt > 0 || me.status === 'ACTIVE') {
      await setStatus('INACTIVE');
    }
    await setStatus('ACTIVE');
    const mine = (e: ChatEvent) => e.kind === 'AGENT_STATUS_CHANGED' && e.agent?.id === me.id;
    if ((await inbox.next(mine, 2_000)) !== null) break;
    log('no status event yet; toggling again');
  }
  say(`SUBSCRIBED after ${stream.after ?? '-'}`);

  // Chats that were already waiting for me, then the ones the subscription brings.
  const lists = await http.request(MyChats, {});
  log(`${lists.myChats.active.length} chat(s) in progress, ${lists.myChats.new.length} waiting`);
  const waiting = lists.myChats.new.map((chat) => chat.id);

  for (;;) {
    let chatId = waiting.shift() ?? null;
    if (chatId === null) {
      const offer = await inbox.next(
        (e) => (e.kind === 'CHAT_OFFERED' || e.kind === 'CHAT_DIRECTED') && chatOf(e) !== null,
        config.timeoutSeconds * 1000,
      );
      chatId = offer === null ? null : chatOf(offer);
      if (chatId === null) continue;
    }
    say(`OFFERED ${chatId}`);

    const { chat } = await http.request(ChatWithMessages, { id: chatId });
    if (!chat) {
      log(`chat ${chatId} is no longer readable; waiting for the next one`);
      continue;
    }
    const customer = chat.contact?.name ?? 'an unknown contact';
    log(`chat ${chat.id} from ${customer}, ${chat.messages.edges.length} latest message(s):`);
    for (const { node } of chat.messages.edges) {
      log(`  ${node.direction === 'INCOMING' ? '<' : '>'} ${node.text ?? `[${node.kind}]`}`);
    }

    try {
      const { acceptChat } = await http.request(AcceptChat, { chatId });
      say(`ACCEPTED ${acceptChat.id} ${acceptChat.status}`);
    } catch (error) {
      if (error instanceof GraphQLRequestError && (error.code === 'ALREADY_ACCEPTED' || error.code === 'NOT_FOUND')) {
        log(`chat ${chatId} went elsewhere (${error.code}); waiting for the next one`);
        continue;
      }
      throw error;
    }

    if (config.simulateDrop) {
      log('dropping the WebSocket');
      stream.terminate();
    }
    const { sendMessage } = await http.request(SendMessage, { chatId, text: config.reply });
    const echoed = await inbox.next(
      (e) => e.kind === 'MESSAGE_SENT' && e.message?.id === sendMessage.id,
      config.timeoutSeconds * 1000,
    );
    if (echoed === null) {
      throw new Error(`the MESSAGE_SENT event of ${sendMessage.id} never came`);
    }
    say(`REPLIED ${chatId} ${sendMessage.id} ${sendMessage.deliveryStatus ?? ''}`.trimEnd());
    break;
  }

  clearTimeout(giveUp);
  await stream.close();
  process.exit(0);
}

main().catch((error: unknown) => {
  const code = error instanceof GraphQLRequestError && error.code !== undefined ? ` [${error.code}]` : '';
  log(`failed${code}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
