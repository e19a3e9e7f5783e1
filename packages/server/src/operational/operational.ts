// Operational webhooks: events about Herald itself (endpoint changes, failing deliveries), in
// Svix's names and shapes, sent as ordinary messages to the operator's "operational"
// application. The operator creates that application (uid HERALD_OPERATIONAL_APP, default
// `herald-operational`) and adds endpoints to it with the normal API; until then, nothing is sent.
import type { IdGenerator } from '../domain/ids.js';
import type { Application, Attempt, Endpoint, EventType } from '../domain/types.js';
import type { Store } from '../store/store.js';
import { iso } from '../api/serialize.js';

export const OPERATIONAL_EVENT_TYPES: Record<string, string> = {
  'endpoint.created': 'An endpoint was created.',
  'endpoint.updated': 'An endpoint was updated (including a secret rotation).',
  'endpoint.deleted': 'An endpoint was deleted.',
  'endpoint.disabled': 'An endpoint was disabled automatically after continuous failures, or at its own request.',
  'endpoint.circuit.opened': "An endpoint's circuit opened after failures in a row: its deliveries are held until a probe succeeds (Herald).",
  'endpoint.circuit.closed': "An endpoint's circuit closed after a successful delivery: its held deliveries go out again (Herald).",
  'message.attempt.failing': 'A delivery failed its fourth attempt.',
  'message.attempt.exhausted': 'A delivery failed its last retry.',
  'message.attempt.recovered': 'A delivery succeeded after failing four or more times.',
};

export interface OperationalOptions {
  store: Store;
  ids: IdGenerator;
  now: () => number;
  appUid: string;
  log?: { error(obj: object, msg: string): void };
}

export class OperationalEvents {
  constructor(private readonly o: OperationalOptions) {}

  /** Make sure the operational event types exist, so operator endpoints can filter on them. */
  async installEventTypes(): Promise<void> {
    const now = this.o.now();
    for (const [name, description] of Object.entries(OPERATIONAL_EVENT_TYPES)) {
      if (await this.o.store.getEventType(name)) continue;
      const et: EventType = {
        name,
        description,
        archived: false,
        deprecated: false,
        schemas: null,
        featureFlag: null,
        groupName: 'herald.operational',
        createdAt: now,
        updatedAt: now,
      };
      await this.o.store.putEventType(et);
    }
  }

  private async send(type: string, appId: string, data: Record<string, unknown>): Promise<void> {
    try {
      const target = await this.o.store.getApplication(this.o.appUid);
      // Never report on the operational application itself: its failures would feed a loop.
      if (!target || target.id === appId) return;
      const now = this.o.now();
      await this.o.store.createMessage(
        {
          id: this.o.ids.next('message', now),
          appId: target.id,
          eventId: null,
          eventType: type,
          channels: null,
          payload: JSON.stringify({ type, timestamp: iso(now), data }),
          expiresAt: now + 90 * 864e5,
          createdAt: now,
        },
        {},
      );
    } catch (e) {
      this.o.log?.error({ err: e, type }, 'could not record an operational webhook');
    }
  }

  endpointChanged(type: 'endpoint.created' | 'endpoint.updated' | 'endpoint.deleted', app: Application, ep: Endpoint): void {
    void this.send(type, app.id, { appId: app.id, appUid: app.uid, endpointId: ep.id, endpointUid: ep.uid });
  }

  async endpointDisabled(appId: string, endpointId: string, failSince: number | null): Promise<void> {
    const [app, ep] = await Promise.all([this.o.store.getApplication(appId), this.o.store.getEndpoint(appId, endpointId)]);
    await this.send('endpoint.disabled', appId, {
      appId,
      appUid: app?.uid ?? null,
      endpointId,
      endpointUid: ep?.uid ?? null,
      failSince: iso(failSince ?? this.o.now()),
    });
  }

  /** An endpoint's circuit opened or closed (domain/hold.ts); `since` is when it did. */
  async circuitChanged(change: 'opened' | 'closed', appId: string, endpointId: string, consecutiveFailures: number, since: number | null): Promise<void> {
    const [app, ep] = await Promise.all([this.o.store.getApplication(appId), this.o.store.getEndpoint(appId, endpointId)]);
    await this.send(`endpoint.circuit.${change}`, appId, {
      appId,
      appUid: app?.uid ?? null,
      endpointId,
      endpointUid: ep?.uid ?? null,
      consecutiveFailures,
      since: iso(since ?? this.o.now()),
    });
  }

  /** After an attempt: failing (4th attempt failed), exhausted (gave up), recovered (success after 4+ failures). */
  async attempted(a: Attempt, attemptNumber: number, next: string, msgEventId: string | null): Promise<void> {
    let type: string | null = null;
    if (next === 'exhausted') type = 'message.attempt.exhausted';
    else if (a.status === 2 && attemptNumber === 4) type = 'message.attempt.failing';
    else if (a.status === 0 && attemptNumber >= 5) type = 'message.attempt.recovered';
    if (!type) return;
    const app = await this.o.store.getApplication(a.appId);
    await this.send(type, a.appId, {
      appId: a.appId,
      appUid: app?.uid ?? null,
      msgId: a.msgId,
      msgEventId,
      endpointId: a.endpointId,
      lastAttempt: { id: a.id, responseStatusCode: a.responseStatusCode, timestamp: iso(a.createdAt) },
    });
  }
}
