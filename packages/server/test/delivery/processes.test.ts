// Process roles, as real child processes on one data folder: `herald serve --no-dispatch` accepts
// but never delivers; `herald worker` delivers what the API process accepted. Also: the worker's
// logs are structured JSON naming the message and attempt ids, and never show a secret.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expecting, serve, spawnCli, type CliProcess, type Served } from '../helpers/cli.js';
import { Receiver } from '../helpers/receiver.js';

const TOKEN = 'proc_test_token_0123456789abcdef';

describe('herald serve --no-dispatch and herald worker on one data folder', () => {
  let rx: Receiver;
  let dataDir: string;
  let api: Served | undefined;
  let worker: CliProcess | undefined;
  const env = () => ({
    HERALD_DATA_DIR: dataDir,
    HERALD_API_TOKEN: TOKEN,
    HERALD_POLL_INTERVAL: '50ms',
    HERALD_RETRY_SCHEDULE: '100ms',
    HERALD_LOG_LEVEL: 'info',
  });

  beforeAll(async () => {
    rx = await Receiver.start();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-roles-'));
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await worker?.exited;
    api?.kill('SIGKILL');
    await api?.exited;
    await rx?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the API-only process accepts without delivering; a worker started later delivers it, logs JSON with ids and no secrets', async () => {
    api = await serve(env(), ['--no-dispatch']);
    expect(api.stdout()).toMatch(/--no-dispatch/);
    const must = expecting(api!.url, TOKEN);
    const app = await must('POST', '/api/v1/app', 201, { name: 'roles' });
    rx.on('/roles-ok', { status: 200 });
    rx.on('/roles-fail', { status: 500, body: 'nope' });
    const ok = await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/roles-ok') });
    const bad = await must('POST', `/api/v1/app/${app.id}/endpoint`, 201, { url: rx.url('/roles-fail') });
    const okSecret = (await must('GET', `/api/v1/app/${app.id}/endpoint/${ok.id}/secret`, 200)).key as string;
    const badSecret = (await must('GET', `/api/v1/app/${app.id}/endpoint/${bad.id}/secret`, 200)).key as string;
    const msg = await must('POST', `/api/v1/app/${app.id}/msg`, 202, { eventType: 'x.y', payload: { role: 'test' } });

    // No dispatcher anywhere: the deliveries wait, pending, with no attempt. (That the API process
    // never delivers is shown below: the worker makes every attempt, and only the worker logs any.)
    const pending = await must('GET', `/api/v1/app/${app.id}/msg/${msg.id}/endpoint`, 200);
    for (const d of pending.data) expect(d.statusText).toBe('pending');
    expect((await must('GET', `/api/v1/app/${app.id}/attempt/msg/${msg.id}`, 200)).data).toEqual([]);
    expect(rx.requests).toHaveLength(0);

    worker = spawnCli(['worker'], env());
    await worker.waitFor('the worker to start', () => /dispatching/.test(worker!.stdout()));
    const [got] = await rx.waitForCount(1, { path: '/roles-ok' });
    expect(got!.headers['svix-id']).toBe(msg.id);
    await rx.waitForCount(2, { path: '/roles-fail' });

    // The API process sees the worker's results in the shared file.
    const states = async () => {
      const page = await must('GET', `/api/v1/app/${app.id}/msg/${msg.id}/endpoint`, 200);
      return Object.fromEntries(page.data.map((d: any) => [d.id, d.statusText]));
    };
    await expect.poll(states, { timeout: 10_000 }).toEqual({ [ok.id]: 'success', [bad.id]: 'fail' });
    // Each delivery was made once, by the worker: the API process logged no attempt.
    expect(rx.forMessage('/roles-ok', msg.id)).toHaveLength(1);
    const apiRecords = (api.stdout() + api.stderr())
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(apiRecords.filter((r) => r.attemptId !== undefined)).toEqual([]);

    // Graceful stop on SIGTERM, then read what it logged.
    worker.kill('SIGTERM');
    const exit = await worker.exited;
    expect(exit.code).toBe(0);
    const out = worker.stdout() + worker.stderr();
    const lines = out.split('\n').filter((l) => l.startsWith('{'));
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const failures = records.filter((r) => r.msgId === msg.id && r.endpointId === bad.id);
    expect(failures.length).toBeGreaterThanOrEqual(1);
    for (const f of failures) expect(f.attemptId).toMatch(/^atmpt_/);
    for (const secret of [okSecret, badSecret, TOKEN]) expect(out).not.toContain(secret);
    expect(out).not.toMatch(/whsec_/);
  });
});
