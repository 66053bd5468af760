/**
 * The credentials, grouped by provider (groups in order of their labels),
 * each with its notebooks-with-access section; or the empty state.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { ICredential, IGrant } from '../api';
import {
  ICredentialUsage,
  IGrantsModel,
  INotebookRef,
  TestState
} from '../model';
import { domId } from '../utils';
import { CredentialItem } from './CredentialItem';
import { NotebookAccess } from './Grants';
import { UseInCode } from './UseInCode';

export interface ICredentialListProps {
  credentials: ICredential[];
  trans: TranslationBundle;
  providerLabel: (name: string) => string;
  /** Whether the server can test a provider's credentials. */
  canTest: (provider: string) => boolean;
  tests: Record<string, TestState>;
  /** Provider proxy usage per credential id. */
  usage?: Record<string, ICredentialUsage>;
  /** The credential being deleted. */
  busyId: string | null;
  grants: IGrantsModel;
  notebook: INotebookRef | null;
  onEdit: (credential: ICredential) => void;
  onDelete: (credential: ICredential) => void;
  onTest: (credential: ICredential) => void;
  onRevoke: (credential: ICredential, grant: IGrant) => void;
}

function EmptyState(props: { trans: TranslationBundle }): JSX.Element {
  const { trans } = props;
  return (
    <div className="jp-OpenNotebook-state" data-state="empty">
      <p>{trans.__('No credentials yet.')}</p>
      <p>
        {trans.__(
          'Add an API key for an AI provider: it is stored encrypted, and Open Notebook uses it to reach that provider.'
        )}
      </p>
      <p data-state="names">
        {trans.__(
          'The name you give it is what code uses: in a notebook or console, secrets.get("Work") reads the key of the credential called Work, once you allow that notebook (the switch under the credential, or Allow when JupyterLab asks).'
        )}
      </p>
    </div>
  );
}

/** Provider name to its credentials, in list order. */
function byProvider(list: ICredential[]): Map<string, ICredential[]> {
  const groups = new Map<string, ICredential[]>();
  for (const c of list) {
    groups.set(c.provider, [...(groups.get(c.provider) ?? []), c]);
  }
  return groups;
}

export function CredentialList(props: ICredentialListProps): JSX.Element {
  const { trans, providerLabel, grants } = props;
  if (props.credentials.length === 0) {
    return <EmptyState trans={trans} />;
  }
  const groups = byProvider(props.credentials);
  const order = [...groups.keys()].sort((a, b) =>
    providerLabel(a).localeCompare(providerLabel(b))
  );
  const names = new Map<string, number>();
  for (const c of props.credentials) {
    names.set(c.name, (names.get(c.name) ?? 0) + 1);
  }
  const item = (c: ICredential) => (
    <CredentialItem
      key={c.id}
      credential={c}
      providerLabel={providerLabel(c.provider)}
      trans={trans}
      canTest={props.canTest(c.provider)}
      test={props.tests[c.id]}
      usage={props.usage?.[c.id]}
      busy={props.busyId === c.id}
      onEdit={() => props.onEdit(c)}
      onDelete={() => props.onDelete(c)}
      onTest={() => props.onTest(c)}
    >
      <UseInCode
        credential={c}
        ambiguous={(names.get(c.name) ?? 0) > 1}
        trans={trans}
      />
      <NotebookAccess
        credential={c}
        trans={trans}
        grants={grants.forCredential(c.id)}
        notebook={props.notebook}
        busy={!!grants.busy[c.id]}
        error={grants.errors[c.id] ?? null}
        onAllowCurrent={allow => void grants.allowCurrent(c, allow)}
        onRevoke={grant => props.onRevoke(c, grant)}
        notebookUsage={props.usage?.[c.id]?.notebooks}
      />
    </CredentialItem>
  );
  return (
    <>
      {order.map(name => {
        const credentials = groups.get(name) ?? [];
        const headingId = domId('jp-OpenNotebook-group', name);
        return (
          <section
            key={name}
            className="jp-OpenNotebook-group"
            aria-labelledby={headingId}
            data-provider={name}
          >
            <h3 id={headingId} className="jp-OpenNotebook-groupTitle">
              {providerLabel(name)}{' '}
              <span className="jp-OpenNotebook-count">
                ({credentials.length})
              </span>
            </h3>
            <ul className="jp-OpenNotebook-list">{credentials.map(item)}</ul>
          </section>
        );
      })}
    </>
  );
}
