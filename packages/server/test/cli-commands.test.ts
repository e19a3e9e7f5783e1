// The command line as an operator meets it: an unknown command is a usage error whatever follows
// it, every command has its own --help, and `herald version` names the version and schema version.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/commands.js';
import { assertBuilt, REPO_ROOT, runCli } from './helpers/cli.js';

beforeAll(() => assertBuilt());

const latest = (dialect: string) =>
  Math.max(
    ...readdirSync(join(REPO_ROOT, 'packages/server/migrations', dialect))
      .map((f) => Number(f.slice(0, 3)))
      .filter(Number.isFinite),
  );

describe('cli: commands and help', () => {
  it.each(
    [['frobnicate'], ['frobnicate', '--help'], ['frobnicate', '-h'], ['frobnicate', '--no-dispatch'], ['frobnicate', 'serve']].map(
      (a) => [a.join(' '), a] as const,
    ),
  )('`herald %s` is an unknown command: exit 2, says so on stderr, prints nothing on stdout', async (_title, argv) => {
    const r = await runCli([...argv], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).toContain('serve');
    expect(r.stdout).toBe('');
  });

  it('every command answers --help (and -h, and `herald help <command>`) with its own usage and options, exit 0', async () => {
    for (const name of Object.keys(COMMANDS)) {
      const r = await runCli([name, '--help'], {});
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: herald ${name}\\b`));
      expect(r.stdout).toContain(COMMANDS[name]!.summary);
      for (const flag of Object.keys(COMMANDS[name]!.options ?? {})) expect(r.stdout, name).toContain(`--${flag}`);
    }
    const short = await runCli(['backup', '-h'], {});
    expect(short.stdout).toMatch(/^Usage: herald backup <file>/);
    const viaHelp = await runCli(['help', 'doctor'], {});
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toMatch(/^Usage: herald doctor/);
    // A command's help is not the general help.
    expect(viaHelp.stdout).not.toContain('rotate-master-key');
  }, 240_000);

  it('the general help lists every command and is what `herald`, `--help` and `help` print', async () => {
    for (const argv of [[], ['--help'], ['help']]) {
      const r = await runCli(argv, {});
      expect(r.code).toBe(0);
      for (const name of Object.keys(COMMANDS)) expect(r.stdout).toContain(`  ${name} `);
    }
  });

  it('an option a command does not take, or a missing or extra argument, is a usage error (exit 2) naming the command', async () => {
    const bad = await runCli(['migrate', '--no-dispatch'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--no-dispatch');
    expect(bad.stderr).toContain('herald migrate --help');
    const missing = await runCli(['backup'], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('<file>');
    const extra = await runCli(['version', 'now'], {});
    expect(extra.code).toBe(2);
    expect((await runCli(['help', 'frobnicate'], {})).code).toBe(2);
  });

  it('`herald version` prints the version, then the schema version of each store', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/server/package.json'), 'utf8')) as { version: string };
    for (const argv of [['version'], ['--version']]) {
      const r = await runCli(argv, {});
      expect(r.code).toBe(0);
      const [first, second] = r.stdout.trim().split('\n');
      expect(first).toBe(pkg.version);
      expect(second).toBe(`schema version: ${latest('sqlite')} (SQLite), ${latest('postgres')} (PostgreSQL)`);
    }
  });
});
