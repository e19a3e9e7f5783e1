// The library promises no runtime dependencies beyond Node's built-ins and @herald/engage. The
// gateway's (better-sqlite3, the broker clients, undici) live in packages/receive-gateway, and this
// keeps them from creeping back: into package.json, or into any import of the library's sources.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('@herald/receiver dependencies', () => {
  it('declares @herald/engage as its only runtime dependency', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    expect(Object.keys(pkg.dependencies ?? {})).toEqual(['@herald/engage']);
  });

  it('takes @opentelemetry/api only as an optional peer, imported for types or lazily when given a tracer', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      peerDependencies?: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    expect(Object.keys(pkg.peerDependencies ?? {})).toEqual(['@opentelemetry/api']);
    expect(pkg.peerDependenciesMeta?.['@opentelemetry/api']?.optional).toBe(true);
    for (const file of sources(join(root, 'src'))) {
      const text = readFileSync(file, 'utf8');
      // A static import of a value would make the peer required: only `import type`, or `import()`.
      expect(text).not.toMatch(/^\s*import\s+(?!type\b)[^;]*from\s+['"]@opentelemetry\/api['"]/m);
    }
  });

  it("imports only node: built-ins, its own files, @herald/engage (and the optional peer's types)", () => {
    const files = sources(join(root, 'src'));
    expect(files.length).toBeGreaterThan(10);
    const foreign: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s*\(?\s*['"]([^'"]+)['"]/g)) {
        const spec = m[1] ?? m[2];
        if (spec.startsWith('node:') || spec.startsWith('./') || spec.startsWith('../') || spec === '@herald/engage') continue;
        // The optional peer, for types (the lazy import is checked below).
        if (spec === '@opentelemetry/api' && /^\s*import type\b/.test(m[0].trim())) continue;
        foreign.push(`${file.slice(root.length)}: ${spec}`);
      }
    }
    expect(foreign).toEqual([]);
  });
});
