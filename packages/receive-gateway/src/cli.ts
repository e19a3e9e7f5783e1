#!/usr/bin/env node
/**
 * herald-receive: `herald-receive [--config gateway.json]` serves; `herald-receive requeue-failed
 * [--destination name] [--config …]` puts failed deliveries back in line (a running gateway picks
 * them up within seconds). The only place that reads process.env and sets exit codes. Logs are
 * JSON lines on stdout; the first one says where it listens.
 */
import { ConfigError, type GatewayConfig, loadConfig } from './config.js';
import { startGateway } from './gateway.js';
import { openInbox } from './inbox.js';
import { USAGE } from './variables.js';

/** `--help` asked for it: stdout, exit 0. A wrong command line: stderr, exit 2. */
function usage(asked = false): never {
  (asked ? process.stdout : process.stderr).write(USAGE);
  process.exit(asked ? 0 : 2);
}

function log(entry: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) usage(true);
  const command = args[0] === 'requeue-failed' ? args.shift() : undefined;
  let configPath: string | undefined;
  let destination: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--config' && args[i + 1] !== undefined) configPath = args[++i];
    else if (args[i].startsWith('--config=')) configPath = args[i].slice('--config='.length);
    else if (command && args[i] === '--destination' && args[i + 1] !== undefined) destination = args[++i];
    else usage();
  }
  let config: GatewayConfig;
  try {
    config = loadConfig(process.env, configPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`herald-receive: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  if (command === 'requeue-failed') {
    if (destination !== undefined && !(destination in config.destinations)) {
      process.stderr.write(
        `herald-receive: --destination: ${JSON.stringify(destination)} is not a destination; defined: ${Object.keys(config.destinations).join(', ')}\n`,
      );
      process.exit(2);
    }
    const inbox = openInbox(config.inboxPath);
    const requeued = inbox.requeueFailed(destination);
    inbox.close();
    log({ msg: 'requeued failed deliveries', requeued, destination: destination ?? '(all)' });
    return;
  }
  const gateway = await startGateway(config, { log });
  log({ msg: 'listening', url: gateway.url, inbox: config.inboxPath, destinations: Object.keys(config.destinations) });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log({ msg: 'stopping', signal });
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log({ msg: 'stop failed', error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`herald-receive: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
