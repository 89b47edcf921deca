// A small typed client for Switchboard: queries and mutations over HTTP (fetch), and
// `myChatEvents` over WebSocket with the official graphql-ws client, resuming after the
// last event received whenever the connection drops.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

import { MyChatEvents } from './operations.js';
import type { MyChatEventsSubscription, MyChatEventsSubscriptionVariables } from './gql/graphql.js';

/** One event of `myChatEvents`, typed from the schema. */
export type ChatEvent = MyChatEventsSubscription['myChatEvents'];

/** An error the server answered with; `code` is `extensions.code` (e.g. `ALREADY_ACCEPTED`). */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string };
}

interface GraphQLResponseBody<TResult> {
  data?: TResult | null;
  errors?: GraphQLErrorBody[];
}

function toError(errors: readonly GraphQLErrorBody[]): GraphQLRequestError {
  const first = errors[0];
  return new GraphQLRequestError(first?.message ?? 'unknown error', first?.extensions?.code);
}

/** Queries and mutations over HTTP, with the token once signed in. */
export class HttpClient {
  private token: string | undefined;

  /** `baseUrl` is the server's root, e.g. `http://127.0.0.1:8080`. */
  constructor(private readonly baseUrl: string) {}

  /** Sends `Authorization: Bearer <token>` from now on. */
  setToken(token: string): void {
    this.token = token;
  }

  /** Runs one operation; throws a {@link GraphQLRequestError} when the server reports errors. */
  async request<TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
  ): Promise<TResult> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
    };
    if (this.token !== undefined) {
      headers.authorization = `Bearer ${this.token}`;
    }
    const response = await fetch(`${this.baseUrl}/graphql`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: print(document), variables }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let body: GraphQLResponseBody<TResult>;
    try {
      body = JSON.parse(text) as GraphQLResponseBody<TResult>;
    } catch {
      throw new GraphQLRequestError(`HTTP ${response.status}: ${text.slice(0, 200)}`, undefined);
    }
    if (body.errors !== undefined && body.errors.length > 0) {
      throw toError(body.errors);
    }
    if (body.data === undefined || body.data === null) {
      throw new GraphQLRequestError(`no data (HTTP ${response.status})`, undefined);
    }
    return body.data;
  }
}

/** Close codes after which resubscribing cannot help: the token is missing, expired or revoked. */
const FATAL_CLOSE_CODES = new Set([4401, 4403]);

function closeCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number') {
    return error.code;
  }
  return undefined;
}

/** Callbacks of {@link EventStream}. */
export interface EventStreamHandlers {
  /** Every event, in order, replays after a reconnect included. */
  onEvent: (event: ChatEvent) => void;
  /** The stream gave up (the token no longer works, or {@link EventStream.close} was called). */
  onEnd?: (error: unknown) => void;
  /** The events after the last one received are no longer kept: reload the lists with queries. */
  onResync?: () => void;
  /** Diagnostics. */
  log?: (line: string) => void;
}

/**
 * `myChatEvents`, kept open: when the socket drops, it subscribes again with the id of the
 * last event it delivered as `after`, so the server replays what happened in between.
 *
 * graphql-ws's own retry would resend the first subscription unchanged (with the old
 * `after`), so it is switched off here and each connection is a fresh client.
 */
export class EventStream {
  private lastEventId: string | null;
  private client: Client | undefined;
  private closed = false;
  private attempt = 0;
  private open = false;
  private readonly openWaiters: (() => void)[] = [];

  constructor(
    private readonly wsUrl: string,
    private readonly token: string,
    private readonly handlers: EventStreamHandlers,
    after: string | null = null,
  ) {
    this.lastEventId = after;
  }

  /** The id of the last event delivered: pass it as `after` to resume. */
  get after(): string | null {
    return this.lastEventId;
  }

  /** Opens the connection and keeps it open until {@link close}. */
  start(): void {
    void this.run();
  }

  /**
   * Resolves once the server has acknowledged a connection; the subscription is sent right
   * after. (The protocol has no acknowledgement for the subscription itself: to be sure it
   * is live, wait for an event, e.g. the AGENT_STATUS_CHANGED that going ACTIVE causes.)
   */
  connected(): Promise<void> {
    if (this.open) return Promise.resolve();
    return new Promise((resolve) => this.openWaiters.push(resolve));
  }

  /** Drops the connection as a network failure would (the stream reconnects and resumes). */
  terminate(): void {
    this.client?.terminate();
  }

  /** Stops for good. */
  async close(): Promise<void> {
    this.closed = true;
    await this.client?.dispose();
  }

  private log(line: string): void {
    this.handlers.log?.(line);
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      const client = createClient({
        url: this.wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { Authorization: `Bearer ${this.token}` },
        lazy: true,
        retryAttempts: 0,
        on: {
          connected: () => {
            this.open = true;
            for (const resolve of this.openWaiters.splice(0)) resolve();
          },
          closed: () => {
            this.open = false;
          },
        },
      });
      this.client = client;
      const after = this.lastEventId;
      this.log(after === null ? 'subscribing to myChatEvents' : `resubscribing to myChatEvents after ${after}`);
      let failure: unknown = undefined;
      try {
        const variables: MyChatEventsSubscriptionVariables = { after };
        const events = client.iterate<MyChatEventsSubscription>({ query: print(MyChatEvents), variables });
        for await (const result of events) {
          if (result.errors !== undefined && result.errors.length > 0) {
            throw result.errors.map((e) => new GraphQLRequestError(e.message, codeOf(e.extensions)));
          }
          const event = result.data?.myChatEvents;
          if (event === undefined) continue;
          this.attempt = 0;
          this.lastEventId = event.id;
          this.handlers.onEvent(event);
        }
        // The server completed the subscription: start again after the last event.
      } catch (error) {
        failure = error;
      } finally {
        await client.dispose();
      }
      if (this.closed) break;
      switch (classify(failure)) {
        case 'fatal':
          this.closed = true;
          this.handlers.onEnd?.(failure);
          return;
        case 'expired':
          // The missed events are gone: start from now, and let the panel reload its lists.
          this.lastEventId = null;
          this.handlers.onResync?.();
          break;
        case 'retry':
          break;
      }
      this.attempt += 1;
      const delay = Math.min(100 * 2 ** (this.attempt - 1), 5_000);
      this.log(`connection lost (${describe(failure)}); retrying in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    this.handlers.onEnd?.(undefined);
  }
}

/** Error codes after which resubscribing cannot help. */
const FATAL_CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN']);

/** What to do after a subscription ended with `failure`. */
function classify(failure: unknown): 'fatal' | 'expired' | 'retry' {
  const code = closeCode(failure);
  if (code !== undefined) return FATAL_CLOSE_CODES.has(code) ? 'fatal' : 'retry';
  // An `error` message (the subscription was refused), or a `next` carrying errors.
  const errors: unknown[] = Array.isArray(failure) ? failure : [failure];
  const codes = errors.map((e) => (e instanceof GraphQLRequestError ? e.code : codeOf(extensionsOf(e))));
  if (codes.includes('EVENTS_EXPIRED')) return 'expired';
  if (codes.some((c) => c !== undefined && FATAL_CODES.has(c))) return 'fatal';
  return 'retry';
}

function extensionsOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'extensions' in error ? error.extensions : undefined;
}

function codeOf(extensions: unknown): string | undefined {
  if (typeof extensions === 'object' && extensions !== null && 'code' in extensions && typeof extensions.code === 'string') {
    return extensions.code;
  }
  return undefined;
}

function describe(error: unknown): string {
  if (error === undefined) return 'completed';
  const code = closeCode(error);
  if (code !== undefined) return `close code ${code}`;
  if (Array.isArray(error)) return error.map((e) => describe(e)).join('; ');
  if (error instanceof GraphQLRequestError) return `${error.code ?? 'error'}: ${error.message}`;
  if (error instanceof Error) return error.message;
  const message = typeof error === 'object' && error !== null && 'message' in error ? error.message : undefined;
  return typeof message === 'string' ? message : String(error);
}
