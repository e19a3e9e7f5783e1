import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import type { Api, Application, EngageSettings, Permission, Session } from './api';

export interface Portal {
  api: Api;
  session: Session;
  app: Application;
  /** null when the settings could not be read (the tenant is then treated as module-on). */
  engage: EngageSettings | null;
  can(p: Permission): boolean;
  /** The webhooks module is off: nothing that sends is offered. */
  moduleOff: boolean;
  refreshEngage(): void;
}

export const PortalContext = createContext<Portal | null>(null);

export function usePortal(): Portal {
  const p = useContext(PortalContext);
  if (!p) throw new Error('usePortal outside the portal');
  return p;
}

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload(): void;
}

/**
 * Load `fn()` now, again whenever `deps` change, and every `pollMs` when given (so new attempts
 * appear without a reload). A poll that fails keeps the last good data and shows the error.
 * Polling pauses while the page is hidden (a background tab asks the API nothing) and catches up
 * at once when it is shown again.
 */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[], pollMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;

  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps decide when to load again; tick is reload()
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    /** A poll fell due while the page was hidden; it runs when the page is shown. */
    let owed = false;
    const due = () => {
      if (document.visibilityState === 'hidden') owed = true;
      else void run();
    };
    const onVisibility = () => {
      if (owed && document.visibilityState !== 'hidden') {
        owed = false;
        void run();
      }
    };
    if (pollMs) document.addEventListener('visibilitychange', onVisibility);
    const run = async () => {
      try {
        const v = await fnRef.current();
        if (!live) return;
        // A poll that finds nothing new keeps the old object, so nothing downstream re-renders.
        setData((prev) => (prev !== undefined && JSON.stringify(prev) === JSON.stringify(v) ? prev : v));
        setError(null);
      } catch (e) {
        if (live) setError(e instanceof Error ? e.message : String(e));
      } finally {
        if (live) {
          setLoading(false);
          if (pollMs) timer = setTimeout(due, pollMs);
        }
      }
    };
    setLoading(true);
    void run();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [...deps, tick, pollMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/**
 * A form's draft of a value the server owns. It follows the server's value until the user edits
 * it; from then on a refresh (a poll, another action on the page) leaves the edits alone, and
 * `stale` says the server's value changed underneath them. `saved()` hands it back to the server.
 */
export function useDraft<T>(server: T): { value: T; set(v: T): void; dirty: boolean; stale: boolean; saved(): void; discard(): void } {
  const key = JSON.stringify(server);
  const [draft, setDraft] = useState({ value: server, dirty: false, key });
  let cur = draft;
  if (!draft.dirty && draft.key !== key) {
    cur = { value: server, dirty: false, key };
    setDraft(cur);
  }
  return {
    value: cur.value,
    set: (value: T) => setDraft((d) => ({ value, dirty: true, key: d.dirty ? d.key : key })),
    dirty: cur.dirty,
    stale: cur.dirty && cur.key !== key,
    saved: () => setDraft((d) => ({ ...d, dirty: false })),
    discard: () => setDraft({ value: server, dirty: false, key }),
  };
}

/** The current hash route, e.g. `/endpoints/ep_…/log`. */
const readRoute = () => window.location.hash.replace(/^#/, '') || '/endpoints';

export function useRoute(): string {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const on = () => setRoute(readRoute());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const go = (route: string) => {
  window.location.hash = route;
};
