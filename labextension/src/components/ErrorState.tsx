/**
 * What the panel shows instead of the list when it cannot load it: the
 * session is gone (reload to sign in), the server is down, or another error.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import React from 'react';

import { ApiError } from '../api';

export function ErrorState(props: {
  error: ApiError;
  trans: TranslationBundle;
  onRetry: () => void;
}): JSX.Element {
  const { error, trans } = props;
  let message: string;
  if (error.isUnauthenticated) {
    message = trans.__(
      'Your Jupyter session has expired or you are not logged in. Reload the page to sign in again.'
    );
  } else if (error.isNetwork) {
    message = trans.__(
      'Cannot reach the Jupyter server. Check that it is still running, then try again.'
    );
  } else {
    message = trans.__('Could not load credentials: %1', error.detail);
  }
  return (
    <div
      className="jp-OpenNotebook-state jp-OpenNotebook-error"
      role="alert"
      data-state={error.isUnauthenticated ? 'unauthenticated' : 'error'}
    >
      <p>{message}</p>
      {error.isUnauthenticated ? (
        <Button
          className="jp-mod-styled jp-mod-accept"
          onClick={() => window.location.reload()}
        >
          {trans.__('Reload page')}
        </Button>
      ) : (
        <Button className="jp-mod-styled jp-mod-accept" onClick={props.onRetry}>
          {trans.__('Try again')}
        </Button>
      )}
    </div>
  );
}
