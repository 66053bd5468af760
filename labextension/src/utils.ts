/**
 * Small helpers shared by the model and the components.
 */
import { ICredential } from './api';

/** A DOM id made from a credential id ("credential:1a2b…"). */
export function domId(prefix: string, id: string): string {
  return `${prefix}-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** A copy of `record` without `key`. */
export function without<T>(
  record: Record<string, T>,
  key: string
): Record<string, T> {
  const next = { ...record };
  delete next[key];
  return next;
}

/** A credential's field by name (the provider's field list names them). */
export function credentialField(
  credential: ICredential | undefined,
  name: string
): unknown {
  return credential
    ? (credential as unknown as Record<string, unknown>)[name]
    : undefined;
}

/** A date-time in the user's locale; the text as sent when it is not one. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/**
 * A date-time for a list of events: the time alone for today, the date too
 * otherwise (`short`), and the full form for a tooltip (`long`).
 */
export function formatWhen(
  iso: string | null,
  now: Date = new Date()
): { short: string; long: string } {
  if (!iso) {
    return { short: '', long: '' };
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return { short: iso, long: iso };
  }
  const today = now.toDateString() === date.toDateString();
  return {
    short: today
      ? date.toLocaleTimeString()
      : `${date.toLocaleDateString()} ${date.toLocaleTimeString()}`,
    long: date.toLocaleString()
  };
}

/**
 * A server message with provider ids in it ("… already exists for provider
 * openai") as the panel shows it: the id of a provider it knows replaced by
 * its label ("… already exists for OpenAI"); other text unchanged.
 */
export function labelProviders(
  text: string,
  providerLabel: (id: string) => string
): string {
  return text.replace(/\bprovider ([a-z][a-z0-9_]*)\b/g, (match, id) => {
    const label = providerLabel(id);
    return label && label !== id ? label : match;
  });
}
