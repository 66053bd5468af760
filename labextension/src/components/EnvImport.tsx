/**
 * "Import from environment": the providers whose variables the server found,
 * by variable name (values never reach the browser), in its environment and
 * in the `.env` file at the root of the contents; the user picks providers
 * and imports them as encrypted credentials. The `.env` file is only edited
 * when the user ticks "remove the imported variables from .env".
 */
import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { EnvImportSource, IEnvImportProvider } from '../api';
import { IEnvImportModel, importable } from '../model';
import { domId } from '../utils';

export interface IEnvImportProps {
  model: IEnvImportModel;
  trans: TranslationBundle;
}

export function EnvImportSection(props: IEnvImportProps): JSX.Element | null {
  const { model, trans } = props;
  if (!model.open) {
    return null;
  }
  const { listing } = model;
  return (
    <section
      className="jp-OpenNotebook-envImport"
      aria-label={trans.__('Import from environment')}
      aria-busy={model.busy}
    >
      <h3 className="jp-OpenNotebook-envImportTitle">
        {trans.__('Import from environment')}
      </h3>
      {model.error && (
        <div className="jp-OpenNotebook-formError" role="alert">
          {model.error}
        </div>
      )}
      {!listing && !model.error && (
        <div role="status">{trans.__('Looking for provider variables…')}</div>
      )}
      {listing && (
        <>
          <SourceGroup
            source="environment"
            title={trans.__("The server's environment")}
            providers={listing.environment}
            model={model}
            trans={trans}
          />
          <SourceGroup
            source="dotenv"
            title={trans.__('The %1 file (jupyter-ai)', listing.dotenv.path)}
            providers={listing.dotenv.providers}
            model={model}
            trans={trans}
          >
            <label className="jp-OpenNotebook-envImportRemove">
              <input
                type="checkbox"
                checked={model.removeFromDotenv}
                onChange={e => model.setRemoveFromDotenv(e.target.checked)}
              />{' '}
              {trans.__(
                'Then remove the imported variables from %1',
                listing.dotenv.path
              )}
            </label>
          </SourceGroup>
        </>
      )}
      <div className="jp-OpenNotebook-formButtons">
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject"
          onClick={model.hide}
        >
          {trans.__('Close')}
        </button>
      </div>
    </section>
  );
}

function SourceGroup(props: {
  source: EnvImportSource;
  title: string;
  providers: IEnvImportProvider[];
  model: IEnvImportModel;
  trans: TranslationBundle;
  children?: React.ReactNode;
}): JSX.Element {
  const { source, title, providers, model, trans } = props;
  const picked = model.selected[source];
  return (
    <fieldset
      className="jp-OpenNotebook-envImportGroup"
      data-source={source}
      disabled={model.busy}
    >
      <legend>{title}</legend>
      {providers.length === 0 && (
        <div className="jp-OpenNotebook-envImportNone">
          {trans.__('No provider variables found.')}
        </div>
      )}
      <ul className="jp-OpenNotebook-envImportList">
        {providers.map(p => {
          const id = domId(`jp-OpenNotebook-import-${source}`, p.provider);
          const why = !p.configured
            ? trans.__('incomplete')
            : p.credentials > 0
              ? trans.__('a credential exists')
              : '';
          return (
            <li key={p.provider}>
              <input
                id={id}
                type="checkbox"
                disabled={!importable(p)}
                checked={picked.includes(p.provider)}
                onChange={() => model.toggle(source, p.provider)}
              />
              <label htmlFor={id}>
                {p.display_name}{' '}
                <code className="jp-OpenNotebook-envImportVars">
                  {p.variables.join(', ')}
                </code>
                {why && (
                  <span className="jp-OpenNotebook-envImportWhy"> ({why})</span>
                )}
              </label>
            </li>
          );
        })}
      </ul>
      {providers.length > 0 && props.children}
      {providers.length > 0 && (
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-accept jp-OpenNotebook-envImportGo"
          disabled={model.busy || picked.length === 0}
          onClick={() => void model.importSelected(source)}
        >
          {trans.__('Import selected')}
        </button>
      )}
    </fieldset>
  );
}
