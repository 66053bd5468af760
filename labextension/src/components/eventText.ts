/**
 * How an audit event reads in the Activity section: what happened, an extra
 * detail, and whether it went wrong.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IAuditEvent } from '../api';

/** How an event reads: what happened, extra detail, and whether it went wrong. */
export interface IEventText {
  what: string;
  detail: string | null;
  outcome: 'ok' | 'error';
}

export function describeEvent(
  e: IAuditEvent,
  trans: TranslationBundle
): IEventText {
  const ok = (what: string, detail: string | null = null): IEventText => ({
    what,
    detail,
    outcome: 'ok'
  });
  const bad = (what: string, detail: string | null = null): IEventText => ({
    what,
    detail,
    outcome: 'error'
  });
  switch (`${e.kind}:${e.action}`) {
    case 'credential:created':
      return ok(trans.__('Credential created'));
    case 'credential:updated':
      return ok(trans.__('Credential updated'));
    case 'credential:deleted':
      return ok(trans.__('Credential deleted'));
    case 'credential:tested':
      if (e.success === false) {
        return bad(trans.__('Connection test failed'));
      }
      return e.success
        ? ok(trans.__('Connection test passed'))
        : ok(trans.__('Connection tested'));
    case 'credential:secret_read':
      return ok(
        e.kernel_id
          ? trans.__('Key read by a notebook')
          : trans.__('Key read with a server token')
      );
    case 'credential:secret_denied':
      return bad(
        trans.__('Key read denied'),
        e.reason === 'no grant'
          ? trans.__('the notebook has no access to this key')
          : (e.reason ?? null)
      );
    case 'grant:granted':
      return ok(
        trans.__('Notebook allowed to read the key'),
        e.via === 'prompt' ? trans.__('answered in the page') : null
      );
    case 'prompt:asked':
      return ok(
        trans.__('Asked in the page whether a notebook may read the key')
      );
    case 'prompt:allow':
      return ok(trans.__('Allowed in the page'));
    case 'prompt:deny':
      return bad(trans.__('Denied in the page'));
    case 'prompt:expired':
      return bad(trans.__('Prompt not answered in time'));
    case 'prompt:no_page':
      return bad(trans.__('Prompt ended: the page was closed'));
    case 'prompt:cancelled':
      return ok(trans.__('Prompt ended: the code stopped waiting'));
    case 'grant:revoked':
      return ok(trans.__('Notebook access revoked'));
    case 'auth:failure':
      return bad(
        trans.__('Authentication failed'),
        e.method || e.path ? `${e.method ?? ''} ${e.path ?? ''}`.trim() : null
      );
    case 'auth:blocked':
      return bad(
        trans.__('Address blocked after repeated authentication failures'),
        typeof e.retry_after === 'number'
          ? trans.__('for %1 s', e.retry_after)
          : null
      );
    case 'rotation:run':
      return (e.undecryptable ?? 0) > 0
        ? bad(
            trans.__('Encryption key rotation'),
            trans.__(
              '%1 re-encrypted, %2 already current, %3 could not be decrypted',
              e.re_encrypted ?? 0,
              e.already_current ?? 0,
              e.undecryptable ?? 0
            )
          )
        : ok(
            trans.__('Encryption key rotation'),
            trans.__(
              '%1 re-encrypted, %2 already current',
              e.re_encrypted ?? 0,
              e.already_current ?? 0
            )
          );
    default:
      return ok(`${e.kind}: ${e.action}`);
  }
}
