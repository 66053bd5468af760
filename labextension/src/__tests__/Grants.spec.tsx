/**
 * "Notebooks with access" shows each granted notebook's proxied use of the key.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { fireEvent, render } from '@testing-library/react';
import React from 'react';

import { IGrant } from '../api';
import { NotebookAccess } from '../components/Grants';
import { credential } from './fixtures';

const trans = nullTranslator.load('open_notebook_ext');

function grant(path: string): IGrant {
  return {
    id: `grant:${path}`,
    credential_id: 'credential:a',
    credential_name: 'Work',
    provider: 'openai',
    notebook_path: path,
    created: '2026-12-01T00:00:00Z'
  };
}

describe('NotebookAccess usage per notebook', () => {
  it('shows requests and tokens next to the notebooks that used the proxy', () => {
    const { container, getByRole } = render(
      <NotebookAccess
        credential={credential({ id: 'credential:a', name: 'Work' })}
        trans={trans}
        grants={[grant('a.ipynb'), grant('b.ipynb')]}
        notebook={null}
        busy={false}
        error={null}
        onAllowCurrent={() => undefined}
        onRevoke={() => undefined}
        notebookUsage={{ 'a.ipynb': { requests: 4, tokens: 55 } }}
      />
    );
    fireEvent.click(getByRole('button', { name: /Notebooks with access/ }));
    const shown = container.querySelectorAll('[data-usage-notebook]');
    expect(shown).toHaveLength(1);
    expect(shown[0].getAttribute('data-usage-notebook')).toBe('a.ipynb');
    expect(shown[0].textContent).toBe('proxy: 4 requests, 55 tokens (30 days)');
  });
});
