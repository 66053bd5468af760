/**
 * "Activity": the recent audit events from `GET audit?limit=50`, newest first.
 *
 * Names, paths and addresses come from the server's records of user input:
 * rendered as React text only.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button, refreshIcon } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useState } from 'react';

import { CredentialsClient, IAuditEvent } from './api';
import { asApiError } from './form';

export const ACTIVITY_LIMIT = 50;

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
      return ok(trans.__('Notebook allowed to read the key'));
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

function formatWhen(iso: string | null): { short: string; long: string } {
  if (!iso) {
    return { short: '', long: '' };
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return { short: iso, long: iso };
  }
  const today = new Date().toDateString() === date.toDateString();
  return {
    short: today
      ? date.toLocaleTimeString()
      : `${date.toLocaleDateString()} ${date.toLocaleTimeString()}`,
    long: date.toLocaleString()
  };
}

function EventItem(props: {
  event: IAuditEvent;
  trans: TranslationBundle;
}): JSX.Element {
  const { event: e, trans } = props;
  const text = describeEvent(e, trans);
  const when = formatWhen(e.time);
  const meta: JSX.Element[] = [];
  if (e.time) {
    meta.push(
      <time key="time" dateTime={e.time} title={when.long}>
        {when.short}
      </time>
    );
  }
  if (e.notebook_path) {
    meta.push(
      <span
        key="notebook"
        className="jp-OpenNotebook-eventNotebook"
        title={trans.__('Notebook')}
      >
        {e.notebook_path}
      </span>
    );
  }
  if (e.client) {
    meta.push(
      <span key="client" className="jp-OpenNotebook-eventClient">
        {trans.__('from %1', e.client)}
      </span>
    );
  }
  return (
    <li
      className={`jp-OpenNotebook-event ${
        text.outcome === 'error' ? 'jp-mod-error' : ''
      }`}
      data-kind={e.kind}
      data-action={e.action}
    >
      <div className="jp-OpenNotebook-eventHeader">
        <span className="jp-OpenNotebook-eventWhat">{text.what}</span>
        {e.credential_name && (
          <span className="jp-OpenNotebook-eventName">{e.credential_name}</span>
        )}
      </div>
      {text.detail && (
        <div className="jp-OpenNotebook-meta jp-OpenNotebook-eventDetail">
          {text.detail}
        </div>
      )}
      <div className="jp-OpenNotebook-meta jp-OpenNotebook-eventMeta">
        {meta.map((part, i) => (
          <React.Fragment key={part.key ?? i}>
            {i > 0 && ' · '}
            {part}
          </React.Fragment>
        ))}
      </div>
    </li>
  );
}

/**
 * The Activity section. It loads when mounted, whenever `refreshToken`
 * changes (the panel was shown, something was changed) and on its button.
 */
export function ActivitySection(props: {
  client: CredentialsClient;
  trans: TranslationBundle;
  refreshToken: number;
}): JSX.Element {
  const { client, trans } = props;
  const [events, setEvents] = useState<IAuditEvent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      setEvents(await client.audit(ACTIVITY_LIMIT));
      setError(null);
    } catch (reason) {
      setError(
        trans.__(
          'Could not load activity: %1',
          asApiError(reason, trans).detail
        )
      );
    } finally {
      setLoading(false);
    }
  }, [client, trans]);

  useEffect(() => {
    void load();
  }, [load, props.refreshToken]);

  let body: JSX.Element;
  if (events === null && !error) {
    body = (
      <div className="jp-OpenNotebook-help" data-state="loading">
        {trans.__('Loading activity…')}
      </div>
    );
  } else if (events !== null && events.length === 0) {
    body = (
      <div className="jp-OpenNotebook-help" data-state="empty">
        {trans.__('No activity yet.')}
      </div>
    );
  } else {
    body = (
      <ol
        className="jp-OpenNotebook-events"
        aria-label={trans.__('Recent activity, newest first')}
      >
        {(events ?? []).map((e, i) => (
          <EventItem key={`${e.time}-${i}`} event={e} trans={trans} />
        ))}
      </ol>
    );
  }
  return (
    <section
      className="jp-OpenNotebook-activity"
      aria-labelledby="jp-OpenNotebook-activityTitle"
      aria-busy={loading}
    >
      <div className="jp-OpenNotebook-header">
        <h2
          id="jp-OpenNotebook-activityTitle"
          className="jp-OpenNotebook-title"
        >
          {trans.__('Activity')}
        </h2>
        <Button
          minimal
          small
          className="jp-OpenNotebook-refreshActivity"
          aria-label={trans.__('Refresh activity')}
          title={trans.__('Refresh activity')}
          disabled={loading}
          onClick={() => void load()}
        >
          <refreshIcon.react tag="span" />
        </Button>
      </div>
      {error && (
        <div className="jp-OpenNotebook-formError" role="alert">
          {error}
        </div>
      )}
      {body}
    </section>
  );
}
