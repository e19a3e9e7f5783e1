// Import boundaries (docs/ARCHITECTURE.md, "Import boundaries"): `npm run lint` fails, naming the
// rule, when an import crosses one. Each rule's comment is what it protects.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'packages/server/src/domain holds pure rules: it imports nothing outside itself, not even node: modules or npm packages.',
      severity: 'error',
      from: { path: '^packages/server/src/domain/' },
      to: { pathNot: '^packages/server/src/domain/' },
    },
    {
      name: 'delivery-knows-no-store',
      comment: 'delivery/ makes one HTTP attempt; the dispatcher records it. It must not reach into the store.',
      severity: 'error',
      from: { path: '^packages/server/src/delivery/' },
      to: { path: '^packages/server/src/store/' },
    },
    {
      name: 'api-not-dispatch-or-delivery',
      comment: 'The API accepts and records; it never sends or dispatches (resends go through the store and the dispatcher).',
      severity: 'error',
      from: { path: '^packages/server/src/api/' },
      to: { path: '^packages/server/src/(dispatch|delivery)/' },
    },
    {
      name: 'engage-stands-alone',
      comment: '@herald/engage is published on its own: it imports nothing of ours.',
      severity: 'error',
      from: { path: '^packages/engage/src/' },
      to: { path: '^packages/(server|config|brokers|receiver|receive-gateway|dashboard)/' },
    },
    {
      name: 'receiver-stands-alone',
      comment: '@herald/receiver is published on its own: of ours it imports only @herald/engage.',
      severity: 'error',
      from: { path: '^packages/receiver/src/' },
      to: { path: '^packages/(server|config|brokers|receive-gateway|dashboard)/' },
    },
    {
      name: 'config-stands-alone',
      comment: '@herald/config is the mechanism the server and the gateway share: it imports nothing of ours.',
      severity: 'error',
      from: { path: '^packages/config/src/' },
      to: { path: '^packages/(server|engage|brokers|receiver|receive-gateway|dashboard)/' },
    },
    {
      name: 'brokers-stand-alone',
      comment: '@herald/brokers holds the broker clients the server and the gateway share: it imports nothing of ours.',
      severity: 'error',
      from: { path: '^packages/brokers/src/' },
      to: { path: '^packages/(server|config|engage|receiver|receive-gateway|dashboard)/' },
    },
    {
      name: 'server-not-gateway',
      comment: 'The server never imports the inbound gateway (DESIGN.md, packages).',
      severity: 'error',
      from: { path: '^packages/server/' },
      to: { path: '^packages/receive-gateway/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles anywhere: each module can be read and tested after the ones it imports.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve would hide a crossing from the rules above.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
