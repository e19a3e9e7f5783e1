// npm run docs:config: writes the configuration tables into README.md (the server's variables) and
// packages/receive-gateway/README.md (the gateway's), between their marker comments, from the
// tables the programs read their configuration by. packages/config/test/docs.test.ts fails when a
// README differs from what this would write.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { markdownTable, replaceBetweenMarkers } from '@herald/config';
import { GATEWAY_VARIABLES } from '../packages/receive-gateway/src/variables.js';
import { SERVER_VARIABLES } from '../packages/server/src/config/variables.js';

const root = fileURLToPath(new URL('../', import.meta.url));

/** Each README, as it should read: path (from the repository root), and content. */
export function configDocs(): { path: string; content: string }[] {
  return [
    { path: 'README.md', marker: 'server-config', table: SERVER_VARIABLES },
    { path: 'packages/receive-gateway/README.md', marker: 'gateway-config', table: GATEWAY_VARIABLES },
  ].map(({ path, marker, table }) => ({ path, content: replaceBetweenMarkers(readFileSync(root + path, 'utf8'), marker, markdownTable(table)) }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const doc of configDocs()) {
    const before = readFileSync(root + doc.path, 'utf8');
    if (before !== doc.content) writeFileSync(root + doc.path, doc.content);
    process.stdout.write(`${doc.path}: ${before === doc.content ? 'up to date' : 'updated'}\n`);
  }
}
