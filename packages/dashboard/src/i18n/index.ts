// The dashboard's languages: one catalogue per language (en.ts, sv.ts), chosen once at start from
// the portal link's `locale`, or else from the browser's languages, or else English.
import type { Status } from '../api';
import { en } from './en';
import { sv } from './sv';

export type Locale = 'en' | 'sv';
export type Key = keyof typeof en;
type Counted<K> = K extends `${infer B}_one` ? B : never;

const CATALOGUES: Record<Locale, Record<Key, string>> = { en, sv };
let current: Record<Key, string> = en;

/** Pick the language (the link's choice first, then the browser's) and mark the document with it. */
export function chooseLocale(fromLink: string | undefined): Locale {
  const wanted = fromLink ? [fromLink] : [...(navigator.languages ?? [navigator.language])];
  const found = wanted.map((l) => l.toLowerCase().split('-')[0]).find((l): l is Locale => l === 'en' || l === 'sv');
  const locale = found ?? 'en';
  current = CATALOGUES[locale];
  document.documentElement.lang = locale;
  return locale;
}

/** The string for `key`, with `{name}` filled in from `vars`. */
export function t(key: Key, vars?: Record<string, string | number>): string {
  const s = current[key];
  return vars ? s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m)) : s;
}

/** The `_one` or `_other` form of `base` for `n` (English and Swedish count alike). */
export function tn(base: Counted<Key>, n: number, vars?: Record<string, string | number>): string {
  return t(`${base}_${n === 1 ? 'one' : 'other'}` as Key, { n, ...vars });
}

export const statusText = (s: Status): string => t(`status${s}` as Key);
