/**
 * "Activity": the recent audit events from `GET audit?limit=50`, newest first.
 *
 * Names, paths and addresses come from the server's records of user input:
 * rendered as React text only.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button, refreshIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { CredentialsClient, IAuditEvent } from '../api';
import { useActivity } from '../model';
import { formatWhen } from '../utils';
import { describeEvent } from './eventText';

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
  const { events, error, loading, load } = useActivity(
    client,
    trans,
    props.refreshToken
  );

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
