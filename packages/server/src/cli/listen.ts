// `herald listen <local-url> --app <app>`: real deliveries on a laptop with no inbound
// connectivity. It creates a temporary polling endpoint for the application (a destination with
// a lease, so the server removes it if this process dies), follows it with long polls, forwards
// each message to the local URL signed with the endpoint's secret (Standard Webhooks headers, by
// @herald/receiver's one signer), and reports the local answer back as an attempt. The consumer
// position only moves with that report, in the same commit, so a lost connection or a restarted
// server costs at most a repeat of the message in hand (at-least-once), never a skipped one.
import { signatureHeaders } from '@herald/receiver';

/** The consumer name this command reads as; its position is what the reports move. */
export const LISTEN_CONSUMER = 'herald-listen';

export interface ListenOptions {
  /** Where messages go, e.g. http://localhost:3000/webhooks. */
  target: string;
  app: string;
  events: string[] | null;
  /** Herald's base URL. */
  server: string;
  token: string;
  /** The polling endpoint's lease: how long after this process stops reading the server removes it. */
  leaseSecs: number;
  /** How long one long poll waits on the server. */
  waitSecs?: number;
  /** How long a local request may take. */
  timeoutMs?: number;
  /** One line of output (deliveries and status). */
  out(line: string): void;
  /** One line of diagnostics. */
  err(line: string): void;
}

interface PolledMessage {
  id: string;
  eventType: string;
  payload: unknown;
}

/** A request to Herald that could not be made or answered with a server error: try again. */
class Unreachable extends Error {}
/** Herald refused the request for good (4xx). */
class Refused extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(detail);
  }
}

const RESPONSE_KEEP_CHARS = 4096;

export class Listener {
  private destinationId: string | null = null;
  private secret = '';
  private readonly stop = new AbortController();
  private connected = true;

  constructor(private readonly o: ListenOptions) {}

  /** Ask the loop to end: the poll in flight is dropped, the message in hand is finished first. */
  close(): void {
    this.stop.abort();
  }

  private url(path: string): string {
    return `${this.o.server.replace(/\/+$/, '')}/api/v1/app/${encodeURIComponent(this.o.app)}${path}`;
  }

  private async call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<any> {
    let res: Response;
    try {
      res = await fetch(this.url(path), {
        method,
        headers: { authorization: `Bearer ${this.o.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new Unreachable(`cannot reach Herald at ${this.o.server} (${causeOf(e)})`);
    }
    const text = await res.text().catch(() => '');
    if (res.status >= 500 || res.status === 429) throw new Unreachable(`Herald answered ${res.status}`);
    if (res.status >= 400) {
      let detail = text;
      try {
        const j = JSON.parse(text);
        detail = typeof j.detail === 'string' ? j.detail : JSON.stringify(j.detail ?? j);
      } catch {
        /* the text as it is */
      }
      throw new Refused(res.status, `${method} ${path}: ${res.status} ${detail}`);
    }
    return text ? JSON.parse(text) : undefined;
  }

  /** Run `work` until it succeeds, waiting longer after each failure to reach Herald; Refused ends it. */
  private async persist<T>(what: string, work: () => Promise<T>): Promise<T> {
    let backoff = 250;
    for (;;) {
      try {
        const r = await work();
        if (!this.connected) {
          this.connected = true;
          this.o.err('reconnected to Herald');
        }
        return r;
      } catch (e) {
        if (!(e instanceof Unreachable) || this.stop.signal.aborted) throw e;
        if (this.connected) {
          this.connected = false;
          this.o.err(`lost Herald during the ${what}: ${e.message}; retrying`);
        }
        await pause(backoff, this.stop.signal);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /** Create the temporary polling endpoint and read its secret. */
  async open(): Promise<void> {
    const d = await this.call('POST', '/destination', {
      type: 'pollingEndpoint',
      eventTypes: this.o.events ?? undefined,
      leaseSecs: this.o.leaseSecs,
      metadata: { createdBy: 'herald listen' },
    });
    this.destinationId = d.id as string;
    this.secret = (await this.call('GET', `/destination/${this.destinationId}/secret`)).key as string;
    const events = this.o.events ? this.o.events.join(', ') : 'all event types';
    this.o.out(`Forwarding ${events} of application ${this.o.app} to ${this.o.target} (polling endpoint ${this.destinationId}). Ctrl-C to stop.`);
  }

  /**
   * Follow the polling endpoint until closed. Reads go on from the last message handled here (the
   * server's copy of that position moves with each report), so a report Herald refuses for good
   * is skipped instead of read again forever.
   */
  async run(): Promise<void> {
    const id = this.destinationId!;
    const wait = this.o.waitSecs ?? 20;
    let position: string | null = null;
    while (!this.stop.signal.aborted) {
      let page: { data: PolledMessage[]; iterator: string };
      const from = position === null ? '' : `&iterator=${encodeURIComponent(position)}`;
      try {
        page = await this.persist('poll', () =>
          this.call('GET', `/poller/${id}/consumer/${LISTEN_CONSUMER}?wait=${wait}&commit=false&limit=50${from}`, undefined, this.stop.signal),
        );
      } catch (e) {
        if (this.stop.signal.aborted) return;
        throw e;
      }
      for (const m of page.data) {
        // A message in hand is finished (forwarded and reported) even when asked to stop.
        const r = await this.forward(m);
        let note = r.error ? `  (${r.error})` : '';
        try {
          await this.persist('report', () =>
            this.call('POST', `/destination/${id}/attempt`, {
              msgId: m.id,
              consumerId: LISTEN_CONSUMER,
              url: this.o.target,
              responseStatusCode: r.status,
              response: r.response,
              responseDurationMs: r.ms,
            }),
          );
        } catch (e) {
          if (!(e instanceof Refused) || e.status === 404) throw e;
          note += `  (not recorded: ${e.message})`;
        }
        position = m.id;
        this.o.out(`${new Date().toISOString()}  ${m.eventType}  ${m.id}  ${r.status === 0 ? 'ERR' : r.status}  ${r.ms}ms${note}`);
        if (this.stop.signal.aborted) return;
      }
      position = page.iterator;
    }
  }

  /** Send one message to the local URL, signed as Herald signs a delivery. */
  private async forward(m: PolledMessage): Promise<{ status: number; response: string; ms: number; error?: string }> {
    const body = JSON.stringify(m.payload);
    const now = new Date();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'herald-listen',
      ...signatureHeaders({ id: m.id, timestamp: now, body, secrets: this.secret, prefix: 'svix' }),
      ...signatureHeaders({ id: m.id, timestamp: now, body, secrets: this.secret, prefix: 'webhook' }),
    };
    const started = performance.now();
    try {
      const res = await fetch(this.o.target, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.o.timeoutMs ?? 15_000) });
      const text = await res.text().catch(() => '');
      return { status: res.status, response: storable(text), ms: Math.round(performance.now() - started) };
    } catch (e) {
      const error = causeOf(e);
      return { status: 0, response: '', ms: Math.round(performance.now() - started), error };
    }
  }

  /** Remove the temporary polling endpoint (best effort: its lease removes it otherwise). */
  async remove(): Promise<void> {
    if (!this.destinationId) return;
    try {
      await this.call('DELETE', `/destination/${this.destinationId}`, undefined, AbortSignal.timeout(5000));
      this.o.err(`removed polling endpoint ${this.destinationId}`);
    } catch (e) {
      this.o.err(`could not remove polling endpoint ${this.destinationId} (${(e as Error).message}); the server removes it when its lease runs out`);
    }
  }
}

export { Refused as ListenRefused };

/** The start of a response as text Herald stores: no NUL, and not cut inside a surrogate pair. */
function storable(text: string): string {
  let t = text.slice(0, RESPONSE_KEEP_CHARS).replaceAll('\u0000', '\uFFFD');
  if (/[\uD800-\uDBFF]$/.test(t)) t = t.slice(0, -1);
  return t;
}

/** What went wrong with a fetch: undici puts the reason (ECONNREFUSED, a timeout) in `cause`. */
function causeOf(e: unknown): string {
  const err = e as Error;
  return err.cause instanceof Error ? err.cause.message : err.message;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
