// rawMember: the exact text of a top-level member, as a message's payload is kept byte for byte.
import { describe, expect, it } from 'vitest';
import { rawMember } from '../src/domain/json-span.js';

describe('rawMember', () => {
  it('returns the member text as sent: spacing, big integers and escapes kept', () => {
    const body = '{ "eventType" : "a.b",\n "payload" :  {"n": 12345678901234567890, "s": "x\\u0041\\"y", "a": [1, {"b": null}]} , "channels": ["c"] }';
    expect(rawMember(body, 'payload')).toBe('{"n": 12345678901234567890, "s": "x\\u0041\\"y", "a": [1, {"b": null}]}');
    expect(rawMember(body, 'eventType')).toBe('"a.b"');
    expect(rawMember(body, 'channels')).toBe('["c"]');
    expect(rawMember(body, 'missing')).toBeUndefined();
  });

  it('matches keys by their decoded value, escaped or not, and not by a prefix', () => {
    expect(rawMember('{"pay\\u006coad": 1}', 'payload')).toBe('1');
    expect(rawMember('{"a\\"b": 2, "payload": 3}', 'a"b')).toBe('2');
    expect(rawMember('{"a\\"b": 2, "payload": 3}', 'payload')).toBe('3');
    expect(rawMember('{"payloads": 1, "payloa": 2}', 'payload')).toBeUndefined();
    expect(rawMember('{"x": "pay\\\\", "payload": "v"}', 'payload')).toBe('"v"');
  });

  it('takes the last of duplicate keys, as JSON.parse does, and reads scalars up to their delimiter', () => {
    expect(rawMember('{"payload": 1, "payload": {"k": "}"}}', 'payload')).toBe('{"k": "}"}');
    expect(rawMember('{"payload":true}', 'payload')).toBe('true');
    expect(rawMember('{"payload":-1.5e3 }', 'payload')).toBe('-1.5e3');
    expect(rawMember('{"payload":null,"x":1}', 'payload')).toBe('null');
  });

  it('is undefined for anything but an object', () => {
    expect(rawMember('[1]', 'payload')).toBeUndefined();
    expect(rawMember('  "payload"', 'payload')).toBeUndefined();
    expect(rawMember('{}', 'payload')).toBeUndefined();
  });
});
