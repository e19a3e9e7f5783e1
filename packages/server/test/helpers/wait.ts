// The one way the server's tests wait: poll a condition until it holds, and fail at a deadline
// with what was awaited and the last value seen. Never a fixed sleep: a test waits for something
// it can observe, and proves "not yet" by asking the store directly or by a marker that comes
// after. (The loopback Receiver also wakes its waits on every arrival: Receiver.waitForCount.)

/** Poll `fn` until it returns something truthy (an error counts as not yet); fail with `what` at the deadline. */
export async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000, pollMs = 15): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
