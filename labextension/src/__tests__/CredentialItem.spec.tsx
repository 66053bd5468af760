/**
 * A credential a hub group shares (service mode) is marked as such and offers no
 * edit, delete or connection test: only an admin of the service manages it.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { render } from '@testing-library/react';
import React from 'react';

import { ICredential } from '../api';
import { CredentialItem } from '../components/CredentialItem';
import { credential } from './fixtures';

const trans = nullTranslator.load('open_notebook_ext');

function item(c: ICredential) {
  return render(
    <CredentialItem
      credential={c}
      providerLabel="OpenAI"
      trans={trans}
      canTest={true}
      busy={false}
      onEdit={() => undefined}
      onDelete={() => undefined}
      onTest={() => undefined}
    />
  );
}

describe('CredentialItem of a group', () => {
  it('shows the group and no edit, delete or test for a shared credential', () => {
    const { container } = item(
      credential({ key_access: 'proxy', shared: true, group: 'class1' })
    );
    const badge = container.querySelector('.jp-OpenNotebook-shared');
    expect(badge?.textContent).toBe('Shared by group class1');
    for (const action of ['edit', 'delete', 'test']) {
      expect(container.querySelector(`.jp-OpenNotebook-${action}`)).toBeNull();
    }
  });

  it('keeps the actions of the user\u2019s own credential', () => {
    const { container } = item(credential());
    expect(container.querySelector('.jp-OpenNotebook-shared')).toBeNull();
    for (const action of ['edit', 'delete', 'test']) {
      expect(
        container.querySelector(`.jp-OpenNotebook-${action}`)
      ).not.toBeNull();
    }
  });
});
