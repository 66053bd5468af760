/**
 * The status banners' quiet line on kernel isolation.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { render } from '@testing-library/react';
import React from 'react';

import { IStatus } from '../api';
import { StatusBanner } from '../components/Banner';

const trans = nullTranslator.load('open_notebook_ext');

function status(over: Partial<IStatus>): IStatus {
  return {
    encryption_configured: true,
    key_source: 'env',
    key_file: null,
    key_check: 'ok',
    configured: {},
    source: {},
    counts: { total: 0, by_provider: {}, undecryptable: 0 },
    kernel_isolation: 'none',
    non_dumpable: true,
    ...over
  };
}

describe('the kernel isolation line', () => {
  it('says grants are not a boundary with same-user kernels', () => {
    const { container } = render(
      <StatusBanner status={status({})} trans={trans} />
    );
    const line = container.querySelector('[data-isolation]');
    expect(line?.getAttribute('data-isolation')).toBe('none');
    expect(line?.textContent).toContain("Kernels run as the server's user");
    expect(line?.className).toBe('jp-OpenNotebook-quiet');
  });

  it('says kernels are isolated behind a gateway', () => {
    const { container } = render(
      <StatusBanner
        status={status({ kernel_isolation: 'gateway' })}
        trans={trans}
      />
    );
    const line = container.querySelector('[data-isolation]');
    expect(line?.getAttribute('data-isolation')).toBe('gateway');
    expect(line?.textContent).toContain('Kernels are isolated');
  });

  it('is absent for a server that does not report it', () => {
    const old = status({});
    delete (old as Partial<IStatus>).kernel_isolation;
    const { container } = render(<StatusBanner status={old} trans={trans} />);
    expect(container.querySelector('[data-isolation]')).toBeNull();
  });
});
