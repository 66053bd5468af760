import { useRef } from 'react';

/**
 * A ref that always holds the latest value: callbacks handed to a hook can
 * change on every render without making the hook's own callbacks change.
 */
export function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  ref.current = value;
  return ref;
}
