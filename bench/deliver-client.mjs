// Load client for the delivery benchmark, run as a separate process (child_process.fork with
// serialization 'advanced') so it never shares an event loop with what it measures. Modes:
//   raw     keep-alive POSTs straight to the receiver, as many in flight as asked: the raw limit.
//   closed  messages POSTed to Herald by `inflight` workers, holding back whenever more than
//           `outstanding` deliveries are accepted but not yet seen by the receiver (the parent
//           relays the receiver's count). Ingest then runs at the delivery rate: a steady state,
//           not a queue that grows for as long as the benchmark lasts.
//           With `keys`, each message gets an ordering key drawn at random from that many
//           (`orderingKey` replaces the body's "__KEY__" placeholder).
//   paced   open loop at `rate` messages/s for `durationMs`, recording for every accepted message
//           its id and the process.hrtime.bigint() at which its 202 arrived.
// `raw` and `closed` run until the parent sends {cmd: 'stop'}.
import { Pool } from 'undici';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let running = false;
let delivered = 0;
let deliveredWaiters = [];

function waitDelivered() {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 50);
    deliveredWaiters.push(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

async function raw(m) {
  const pool = new Pool(m.origin, { connections: m.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const st = { sent: 0, ok: 0, bad: 0, errors: 0 };
  let n = 0;
  const worker = async () => {
    while (running) {
      // Shaped like a delivery: the same body and the same set of headers Herald sends.
      const id = `msg_raw${process.pid}_${n++}`;
      const headers = { ...m.headers, 'svix-id': id, 'webhook-id': id };
      st.sent++;
      try {
        const r = await pool.request({ path: m.path, method: 'POST', headers, body: m.body });
        await r.body.dump();
        if (r.statusCode === 200) st.ok++;
        else st.bad++;
      } catch {
        st.errors++;
        await sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: m.inflight }, worker));
  await pool.close();
  return st;
}

async function closed(m) {
  const pool = new Pool(m.origin, { connections: m.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const st = { created: 0, non202: 0, errors: 0, lastError: null };
  let posting = 0;
  const worker = async () => {
    while (running) {
      if ((st.created + posting) * m.fanout - delivered >= m.outstanding) {
        await waitDelivered();
        continue;
      }
      posting++;
      try {
        const body = m.keys ? m.body.replace('__KEY__', `key-${Math.floor(Math.random() * m.keys)}`) : m.body;
        const r = await pool.request({ path: m.path, method: 'POST', headers: m.headers, body });
        await r.body.dump();
        if (r.statusCode === 202) st.created++;
        else {
          st.non202++;
          st.lastError = `HTTP ${r.statusCode}`;
          await sleep(10);
        }
      } catch (e) {
        st.errors++;
        st.lastError = String(e?.message ?? e);
        await sleep(10);
      } finally {
        posting--;
      }
    }
  };
  await Promise.all(Array.from({ length: m.inflight }, worker));
  await pool.close();
  return st;
}

async function paced(m) {
  const pool = new Pool(m.origin, { connections: m.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const total = Math.round((m.rate * m.durationMs) / 1000);
  /** [message id, send time, 202 time] as hrtime nanoseconds. */
  const records = [];
  const st = { sent: 0, non202: 0, errors: 0, maxInFlight: 0, lastError: null };
  let inFlight = 0;
  const pending = new Set();
  const fire = () => {
    const tSend = process.hrtime.bigint();
    inFlight++;
    if (inFlight > st.maxInFlight) st.maxInFlight = inFlight;
    const p = pool
      .request({ path: m.path, method: 'POST', headers: m.headers, body: m.body })
      .then(async (r) => {
        // undici resolves at the response head: this is when the 202 arrived.
        const t202 = process.hrtime.bigint();
        const text = await r.body.text();
        if (r.statusCode === 202) records.push([JSON.parse(text).id, tSend, t202]);
        else {
          st.non202++;
          st.lastError = `HTTP ${r.statusCode}: ${text.slice(0, 200)}`;
        }
      })
      .catch((e) => {
        st.errors++;
        st.lastError = String(e?.message ?? e);
      })
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
  };
  const start = process.hrtime.bigint();
  await new Promise((resolve) => {
    const tick = () => {
      // Open loop: send whatever the schedule says is due by now, whatever is still in flight.
      const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
      const due = Math.min(total, Math.floor(elapsedS * m.rate) + 1);
      while (st.sent < due) {
        st.sent++;
        fire();
      }
      if (st.sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const sentOverS = Number(process.hrtime.bigint() - start) / 1e9;
  await Promise.all([...pending]);
  await pool.close();
  return { ...st, sentOverS, start, records };
}

const modes = { raw, closed, paced };

process.on('message', (m) => {
  if (m.cmd === 'delivered') {
    delivered = m.count;
    const ws = deliveredWaiters;
    deliveredWaiters = [];
    for (const w of ws) w();
  } else if (m.cmd === 'stop') {
    running = false;
  } else if (modes[m.cmd]) {
    running = true;
    delivered = 0;
    modes[m.cmd](m).then(
      (result) => process.send({ type: 'done', result }),
      (e) => process.send({ type: 'error', error: String(e?.stack ?? e) }),
    );
  } else if (m.cmd === 'exit') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
