// The transformation rules: what a PATCH may set, what a handler's result becomes, and how a
// canceled delivery settles.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.js';
import { settle } from '../../src/domain/outcome.js';
import { patchTransformation, transformationOf, transformed, webhookInput } from '../../src/domain/transformation.js';
import { MessageStatus } from '../../src/domain/types.js';

const input = webhookInput('https://example.com/hook', 'contact.updated', '{"id":"c1","n":1.50}', { 'x-tenant': 'acme' });
const out = (v: unknown) => transformed(JSON.stringify(v), input);

describe('patchTransformation', () => {
  it('sets code and switch, keeps what the patch leaves out, and names what is wrong', () => {
    const t = patchTransformation(null, { code: 'function handler(w) { return w; }', enabled: true }, 5);
    expect(t).toEqual({ code: 'function handler(w) { return w; }', enabled: true, updatedAt: 5 });
    expect(patchTransformation(t, { enabled: false }, 6)).toEqual({ ...t, enabled: false, updatedAt: 6 });
    expect(patchTransformation(t, { code: null, enabled: false }, 7)).toEqual({ code: null, enabled: false, updatedAt: 7 });
    const bad = (body: Record<string, unknown>, current = t) => {
      try {
        patchTransformation(current, body, 8);
      } catch (e) {
        return (e as ValidationError).issues[0];
      }
      return null;
    };
    expect(bad({ code: 12 })).toMatchObject({ loc: ['body', 'code'] });
    expect(bad({ code: '   ' })).toMatchObject({ loc: ['body', 'code'], msg: expect.stringMatching(/empty/) });
    expect(bad({ code: 'é'.repeat(32 * 1024 + 1) })).toMatchObject({ msg: 'must be at most 65536 bytes of UTF-8' });
    expect(bad({ code: 'x'.repeat(64 * 1024) })).toBeNull();
    expect(bad({ enabled: 'yes' })).toMatchObject({ loc: ['body', 'enabled'] });
    expect(bad({ enabled: true }, { code: null, enabled: false, updatedAt: 1 })).toMatchObject({ msg: 'cannot be true without code' });
  });

  it('runs only enabled code', () => {
    expect(transformationOf(null)).toBeNull();
    expect(transformationOf({ code: 'c', enabled: false, updatedAt: 1 })).toBeNull();
    expect(transformationOf({ code: 'c', enabled: true, updatedAt: 1 })).toBe('c');
  });
});

describe('transformed', () => {
  it('sends what the handler returned; what it left out stays as it came', () => {
    expect(out({ ...input, payload: { a: 'ü' }, url: 'https://example.org/x?y=1', method: 'PUT', headers: { 'x-a': 'b' } })).toEqual({
      kind: 'send',
      method: 'PUT',
      url: 'https://example.org/x?y=1',
      body: '{"a":"ü"}',
      headers: { 'x-a': 'b' },
    });
    expect(out({})).toEqual({ kind: 'send', method: 'POST', url: 'https://example.com/hook', body: '{"id":"c1","n":1.5}', headers: { 'x-tenant': 'acme' } });
    // Any JSON value is a payload, sent as its JSON text.
    expect(out({ ...input, payload: 'text' })).toMatchObject({ body: '"text"' });
  });

  it('cancels on cancel: true', () => {
    expect(out({ ...input, cancel: true })).toEqual({ kind: 'cancel' });
    expect(out({ ...input, cancel: false })).toMatchObject({ kind: 'send' });
  });

  it('refuses results that cannot be sent, saying why', () => {
    const why = (v: unknown, text?: string) => {
      const t = text === undefined ? out(v) : transformed(text, input);
      return t.kind === 'invalid' ? t.error : null;
    };
    expect(transformed(undefined, input)).toEqual({ kind: 'invalid', error: 'the handler must return the webhook object' });
    expect(why(null)).toBe('the handler must return the webhook object');
    expect(why([1])).toBe('the handler must return the webhook object');
    expect(why(null, '{oops')).toBe('the handler returned something that is not JSON');
    expect(why({ cancel: 'yes' })).toBe('`cancel` must be a boolean');
    expect(why({ method: 'DELETE' })).toBe('`method` must be "POST" or "PUT"');
    expect(why({ url: 42 })).toBe('`url` must be a string');
    expect(why({ url: 'ftp://example.com/x' })).toMatch(/^url: URL scheme must be http or https/);
    expect(why({ url: 'https://user:pw@example.com/' })).toMatch(/credentials/);
    expect(why({ headers: [] })).toBe('`headers` must be an object');
    expect(why({ headers: { a: 1 } })).toBe('`headers` values must be strings');
    expect(why({ headers: { 'webhook-signature': 'v1,forged' } })).toMatch(/reserved/);
    expect(why({ headers: { 'x-a': 'line\r\nbreak' } })).toMatch(/control characters/);
    expect(why({ headers: { 'bad name': 'x' } })).toMatch(/not a valid header name/);
    expect(why({ payload: 'é'.repeat(1024 * 1024) })).toBe('the payload is 2097154 bytes; at most 2097152 are sent');
    expect(why({ payload: 'x'.repeat(2 * 1024 * 1024 - 2) })).toBeNull();
  });
});

describe('settling a canceled delivery', () => {
  it('ends it canceled, with a canceled attempt, leaving the endpoint alone; a manual attempt too', () => {
    const policy = { retryScheduleMs: [1000], autoDisableAfterMs: 1000, random: 0.5 };
    for (const triggerType of [0, 1]) {
      expect(settle({ kind: 'cancel' }, { attemptCount: 0, triggerType }, 100, policy)).toEqual({
        next: { kind: 'canceled' },
        attemptStatus: MessageStatus.canceled,
        task: { status: MessageStatus.canceled, nextAttemptAt: null },
      });
    }
  });
});
