// The README promises a tenant can receive Engage webhooks in ten lines with each adapter. This
// holds each example to that, and to the copy in ./types/readme/<adapter>.ts that
// typecheck.test.ts compiles against the real framework types, so the docs can neither grow past
// ten lines nor drift from code that type-checks.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const ADAPTERS = ['node', 'express', 'fastify', 'hono'] as const;
const MARK = '// --- README example ---\n';

function readmeExample(name: string): string | undefined {
  const m = new RegExp(`<!-- readme-example: ${name} -->\\n\`\`\`ts\\n([\\s\\S]*?)\\n\`\`\``).exec(README);
  return m?.[1];
}

describe('README: receive Engage webhooks in ten lines, per adapter', () => {
  it.each(ADAPTERS)('%s: present, at most ten lines, identical to the type-checked copy', (name) => {
    const example = readmeExample(name);
    expect(example, `no <!-- readme-example: ${name} --> block`).toBeDefined();
    const lines = example!.split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeLessThanOrEqual(10);
    const checked = readFileSync(new URL(`./types/readme/${name}.ts`, import.meta.url), 'utf8');
    expect(checked).toContain(MARK);
    expect(checked.split(MARK)[1].trimEnd()).toBe(example);
  });

  it('each example is complete: signature secret, decryption key, source allowlist, a typed handler and its adapter', () => {
    const handler = { node: 'nodeHandler', express: 'expressHandler', fastify: 'fastifyPlugin', hono: 'honoHandler' };
    for (const name of ADAPTERS) {
      const example = readmeExample(name)!;
      expect(example).toContain('secrets:');
      expect(example).toContain('encryptionKey:');
      expect(example).toContain('allowlist:');
      expect(example).toContain("on('point.balance.updated'");
      expect(example).toContain(`${handler[name]}`);
    }
  });

  it('documents the raw-body limit for express.raw(), the fetch adapter, and installing from tarballs', () => {
    expect(README).toContain("express.raw({ type: 'application/json', limit: '1mb' })");
    expect(README).toMatch(/handleFetchRequest\(receiver, request, /);
    expect(README).toMatch(/## Install[\s\S]*npm pack -w @herald\/engage -w @herald\/receiver -w @herald\/receive-gateway/);
    expect(README).toMatch(/npx --no-install herald-receive --help/);
  });

  it('shows how to run the gateway', () => {
    expect(README).toMatch(/## The inbound gateway \(`herald-receive`\)/);
    expect(README).toMatch(/node packages\/receive-gateway\/dist\/cli\.js --config gateway\.json/);
  });
});
