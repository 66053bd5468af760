import { nullTranslator } from '@jupyterlab/translation';

import { IAuditEvent } from '../api';
import { describeEvent } from '../components/eventText';
import { formatWhen } from '../utils';

const trans = nullTranslator.load('open_notebook_ext');
const event = (e: Partial<IAuditEvent>): IAuditEvent => ({
  kind: 'credential',
  action: 'created',
  time: '2024-05-01T12:00:00Z',
  ...e
});

describe('describeEvent', () => {
  it('names what happened', () => {
    expect(describeEvent(event({}), trans)).toEqual({
      what: 'Credential created',
      detail: null,
      outcome: 'ok'
    });
    expect(
      describeEvent(event({ kind: 'grant', action: 'granted' }), trans).what
    ).toBe('Notebook allowed to read the key');
  });

  it('tells a key read by a kernel from one with a server token', () => {
    const read = event({ action: 'secret_read' });
    expect(describeEvent({ ...read, kernel_id: 'k1' }, trans).what).toBe(
      'Key read by a notebook'
    );
    expect(describeEvent(read, trans).what).toBe(
      'Key read with a server token'
    );
  });

  it('marks failures and says why', () => {
    expect(
      describeEvent(
        event({ action: 'secret_denied', reason: 'no grant' }),
        trans
      )
    ).toEqual({
      what: 'Key read denied',
      detail: 'the notebook has no access to this key',
      outcome: 'error'
    });
    expect(
      describeEvent(event({ action: 'tested', success: false }), trans).outcome
    ).toBe('error');
    expect(
      describeEvent(
        event({ kind: 'auth', action: 'failure', method: 'GET', path: '/x' }),
        trans
      )
    ).toEqual({
      what: 'Authentication failed',
      detail: 'GET /x',
      outcome: 'error'
    });
    expect(
      describeEvent(
        event({ kind: 'auth', action: 'blocked', retry_after: 30 }),
        trans
      ).detail
    ).toBe('for 30 s');
  });

  it('sums up a rotation', () => {
    const rotation = event({
      kind: 'rotation',
      action: 'run',
      re_encrypted: 3,
      already_current: 1
    });
    expect(describeEvent(rotation, trans)).toEqual({
      what: 'Encryption key rotation',
      detail: '3 re-encrypted, 1 already current',
      outcome: 'ok'
    });
    expect(
      describeEvent({ ...rotation, undecryptable: 2 }, trans)
    ).toMatchObject({
      detail: '3 re-encrypted, 1 already current, 2 could not be decrypted',
      outcome: 'error'
    });
  });

  it('shows an unknown event as kind and action', () => {
    expect(describeEvent(event({ action: 'exported' }), trans).what).toBe(
      'credential: exported'
    );
  });
});

describe('formatWhen', () => {
  it('shows the time alone for today, the date too otherwise', () => {
    const now = new Date('2024-05-01T15:00:00');
    const today = formatWhen('2024-05-01T12:00:00', now);
    const earlier = formatWhen('2024-04-01T12:00:00', now);
    expect(today.short).toBe(
      new Date('2024-05-01T12:00:00').toLocaleTimeString()
    );
    expect(earlier.short).toContain(
      new Date('2024-04-01T12:00:00').toLocaleDateString()
    );
    expect(formatWhen(null)).toEqual({ short: '', long: '' });
    expect(formatWhen('not a date')).toEqual({
      short: 'not a date',
      long: 'not a date'
    });
  });
});
