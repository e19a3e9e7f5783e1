// The READMEs' configuration tables are generated from the tables the programs read their
// variables by: this fails when a README drifts from them (fix: npm run docs:config).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configDocs } from '../../../scripts/docs-config.js';
import { SERVER_VARIABLES } from '../../server/src/config/variables.js';
import { GATEWAY_VARIABLES } from '../../receive-gateway/src/variables.js';

const root = new URL('../../../', import.meta.url);

describe('the configuration tables in the READMEs', () => {
  it.each(configDocs().map((d) => [d.path, d] as const))('%s is what npm run docs:config writes', (_path, doc) => {
    expect(readFileSync(new URL(doc.path, root), 'utf8'), 'the README differs from its variables table: run npm run docs:config').toBe(doc.content);
  });

  it('every variable is in its README', () => {
    const server = readFileSync(new URL('README.md', root), 'utf8');
    for (const name of Object.keys(SERVER_VARIABLES)) expect(server).toContain(`| \`${name}\` |`);
    const gateway = readFileSync(new URL('packages/receive-gateway/README.md', root), 'utf8');
    for (const name of Object.keys(GATEWAY_VARIABLES)) expect(gateway).toContain(`| \`${name}\` |`);
  });
});
