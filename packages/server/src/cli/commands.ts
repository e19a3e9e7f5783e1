// The commands `herald` knows, their options and their help. main.ts parses a command line against
// this table: an unknown command or option is a usage error (exit 2) whatever follows it, and every
// command answers `--help` with its own text.
import { helpText } from '@herald/config';
import { SERVER_VARIABLES } from '../config/variables.js';
import { VERSION } from '../version.js';

export interface OptionSpec {
  type: 'boolean' | 'string';
  /** Shown after the flag in the help, e.g. `N` for `--rate N`. */
  value?: string;
  help: string;
}

export interface CommandSpec {
  summary: string;
  /** Positional arguments, e.g. `<file>`; the count is enforced. */
  args?: string[];
  /** What the command does, in a few sentences (shown by `herald <command> --help`). */
  description: string;
  options?: Record<string, OptionSpec>;
}

const noMigrate: OptionSpec = { type: 'boolean', help: 'Refuse to start if the schema needs migrating, instead of migrating' };

export const COMMANDS: Record<string, CommandSpec> = {
  serve: {
    summary: 'Run the management API and the dispatcher',
    description:
      'Serves the API on HERALD_HOST:HERALD_PORT and delivers messages. Applies pending migrations first. ' +
      'SIGTERM or SIGINT stops it gracefully: the API stops taking requests and deliveries in flight ' +
      'settle (up to HERALD_DELIVERY_TIMEOUT plus a second) before it exits 0.',
    options: { 'no-dispatch': { type: 'boolean', help: 'Run the API only (run `herald worker` processes to deliver)' }, 'no-migrate': noMigrate },
  },
  worker: {
    summary: 'Run the dispatcher only (no HTTP API)',
    description: 'Delivers messages and runs the retention purger. Several workers may share one PostgreSQL database. Stops like `serve` on SIGTERM.',
    options: { 'no-migrate': noMigrate },
  },
  migrate: {
    summary: 'Apply pending database migrations and exit',
    description: 'Brings the configured store to the schema this version needs. Safe to run again; concurrent runs serialise.',
  },
  purge: {
    summary: 'Run one full retention pass now and exit',
    description: 'Clears expired payloads, deletes attempts older than HERALD_ATTEMPT_RETENTION and old idempotency answers, and prints the counts.',
  },
  'install-engage-catalog': {
    summary: 'Create or update the 11 Engage event types and exit',
    description: 'Idempotent: running it again changes nothing that is current.',
  },
  simulate: {
    summary: 'Drive realistic Engage activity through a running Herald',
    description: "Sends producer calls at a steady rate and prints a report. The token is HERALD_API_TOKEN or the data folder's api-token.",
    options: {
      tenant: { type: 'string', value: 'T', help: 'Application uid (default: sim-tenant; created, catalog installed, module on)' },
      rate: { type: 'string', value: 'N', help: 'Actions per second (default 20)' },
      duration: { type: 'string', value: 'D', help: 'How long, e.g. 30s or 5m (default 30s)' },
      count: { type: 'string', value: 'N', help: 'Stop after N actions instead' },
      url: { type: 'string', value: 'U', help: "Herald's URL (default HERALD_PUBLIC_URL)" },
      seed: { type: 'string', value: 'N', help: 'Seed for a repeatable run (default 1)' },
    },
  },
  listen: {
    summary: "Forward an application's messages to a local URL, through a temporary polling endpoint",
    args: ['<local-url>'],
    description:
      'Creates a temporary polling endpoint for the application, follows it (long polls: no inbound connection needed), ' +
      "forwards each message to <local-url> signed with the endpoint's secret (svix-* and webhook-* headers), and reports each local answer " +
      "back to Herald, where it shows in the message's attempt log. Prints one line per delivery: time, event type, message id, local status, ms. " +
      'Ctrl-C removes the endpoint; if the command dies, the server removes it when its lease runs out. ' +
      "The token is --token, else HERALD_API_TOKEN, else the data folder's api-token.",
    options: {
      app: { type: 'string', value: 'APP', help: 'Application id or uid (required)' },
      events: { type: 'string', value: 'A,B', help: 'Only these event types (default: all)' },
      server: { type: 'string', value: 'URL', help: "Herald's URL (default HERALD_PUBLIC_URL)" },
      token: { type: 'string', value: 'T', help: "API token: the operator's, or a portal token of the application with 'manage' and 'secrets'" },
      lease: { type: 'string', value: 'S', help: 'Seconds the server keeps the endpoint after this command stops reading (default 60, at least 10)' },
    },
  },
  'rotate-master-key': {
    summary: 'Re-seal every secret under a new master key while Herald keeps running',
    description:
      'With the key file: writes a new key, re-seals, drops the old key. With HERALD_MASTER_KEY (or HERALD_MASTER_KEY_FILE): ' +
      're-seals under it, opening older values with HERALD_MASTER_KEY_PREVIOUS. See README.md.',
    options: {
      'keep-previous': { type: 'boolean', help: 'Keep the old key in the key file afterwards' },
      'batch-size': { type: 'string', value: 'N', help: 'Rows re-sealed per batch (default 100)' },
    },
  },
  backup: {
    summary: 'Copy the embedded store to a file while Herald keeps running',
    args: ['<file>'],
    description:
      'Writes a consistent snapshot of the SQLite database to <file> (which must not exist), without stopping Herald. ' +
      'The master key is never in a backup: keep it separately. For PostgreSQL it prints the pg_dump recipe instead.',
  },
  restore: {
    summary: 'Restore a backup into an empty data folder',
    args: ['<file>'],
    description:
      'Copies a file made by `herald backup` to the configured SQLite database. Refuses a data folder that is not empty. ' +
      'Put the master key in force when the backup was taken back in place before starting Herald; `herald doctor` checks it.',
  },
  doctor: {
    summary: 'Check the configuration, store, master key, egress and SSRF settings',
    description: 'Reads the configuration and the store without changing anything and says what is wrong and what to do. Exits 1 if anything is.',
  },
  version: {
    summary: 'Print the version and the schema version',
    description: "Prints Herald's version and the database schema version it brings a store to.",
  },
  help: {
    summary: "Show this help, or a command's (`herald help <command>`)",
    args: ['[command]'],
    description: 'Shows the general help, or the help of one command.',
  },
};

const CONFIG_NOTE = 'Configuration comes from the environment: `herald --help` lists every variable (README.md, "Configuration").\n';

/** The variables, from the table that loadConfig reads them by. */
const CONFIG_HELP = `Configuration (environment variables, read once at start):\n${helpText(SERVER_VARIABLES)}`;

export function generalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2;
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`);
  return (
    `Herald ${VERSION}: a self-hosted, Svix-compatible webhook platform\n\n` +
    `Usage: herald <command> [options]\n\nCommands:\n${lines.join('\n')}\n\n` +
    `Run \`herald <command> --help\` for a command's options.\n\n${CONFIG_HELP}`
  );
}

export function commandHelp(name: string): string {
  const c = COMMANDS[name]!;
  const opts: [string, string][] = Object.entries(c.options ?? {}).map(([flag, o]) => [`--${flag}${o.value ? ` ${o.value}` : ''}`, o.help]);
  opts.push(['-h, --help', 'Show this help']);
  const width = Math.max(...opts.map(([f]) => f.length)) + 2;
  return (
    `Usage: herald ${name}${c.args ? ` ${c.args.join(' ')}` : ''}${opts.length > 1 ? ' [options]' : ''}\n\n` +
    `${c.summary}.\n${c.description}\n\nOptions:\n${opts.map(([f, h]) => `  ${f.padEnd(width)}${h}`).join('\n')}\n\n${CONFIG_NOTE}`
  );
}
