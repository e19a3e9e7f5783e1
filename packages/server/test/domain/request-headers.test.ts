// Which headers of a sent request an attempt keeps as sent and which only by name.
import { describe, expect, it } from 'vitest';
import { HEADER_MASK, recordedRequestHeaders } from '../../src/domain/request-headers.js';

describe('recordedRequestHeaders', () => {
  it("keeps Herald's own headers as sent and masks every other value, whatever the case", () => {
    const sent = {
      'X-Api-Key': 'k-SECRET',
      Authorization: 'Bearer t-SECRET',
      'content-type': 'application/json',
      'user-agent': 'Herald-Webhooks/1',
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': 'v1,abc',
      'svix-id': 'msg_1',
      'herald-ordering-key': 'c7',
      'herald-sequence': '3',
      traceparent: '00-aa-bb-01',
    };
    const kept = JSON.parse(recordedRequestHeaders(sent, ['webhook']));
    expect(kept).toEqual({
      ...sent,
      'X-Api-Key': HEADER_MASK,
      Authorization: HEADER_MASK,
      // Only the signing families in use are Herald's: a custom svix-id is a custom header here.
      'svix-id': HEADER_MASK,
    });
    expect(JSON.stringify(kept)).not.toContain('SECRET');
    expect(JSON.parse(recordedRequestHeaders(sent, ['webhook', 'svix']))['svix-id']).toBe('msg_1');
  });
});
