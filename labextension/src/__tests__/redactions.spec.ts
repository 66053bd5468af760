/**
 * The notice for a save that redacted keys: the watcher's `redacted` signal
 * from the server's message, the text, and that only a page with the
 * notebook open shows it (one notification per notebook at a time).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import {
  GrantPromptWatcher,
  IRedaction,
  openDocument,
  RedactionNotices,
  redactionMessage
} from '../prompts';

const trans = nullTranslator.load('open_notebook_ext');

function watcher(): GrantPromptWatcher {
  return new GrantPromptWatcher(
    ServerConnection.makeSettings({ baseUrl: 'http://localhost/' })
  );
}

/** A shell whose main area holds document widgets at `paths`. */
function shell(paths: string[], reverted: string[]): JupyterFrontEnd.IShell {
  const widgets = paths.map(path =>
    Object.assign(new Widget(), {
      context: {
        path,
        revert: async () => {
          reverted.push(path);
        }
      }
    })
  );
  return {
    widgets: (area?: string) =>
      (area === 'main' ? widgets : [])[Symbol.iterator]()
  } as unknown as JupyterFrontEnd.IShell;
}

describe('redaction notices', () => {
  afterEach(() => Notification.manager.dismiss());

  it('reads the server message into the redacted signal (and ignores bad ones)', () => {
    const w = watcher();
    const seen: IRedaction[] = [];
    w.redacted.connect((_, r) => seen.push(r));
    w.receive(JSON.stringify({ type: 'redacted', path: 'a.ipynb', count: 2 }));
    w.receive(JSON.stringify({ type: 'redacted', path: 'b.ipynb' }));
    w.receive('not json');
    expect(seen).toEqual([{ path: 'a.ipynb', count: 2 }]);
  });

  it('says what happened, in the singular and the plural', () => {
    expect(redactionMessage({ path: 'a.ipynb', count: 1 }, trans)).toBe(
      'Saving a.ipynb removed 1 stored API key from its outputs (replaced with [REDACTED:…] in the file). The notebook on screen still shows it until reloaded.'
    );
    expect(redactionMessage({ path: 'a.ipynb', count: 3 }, trans)).toContain(
      'removed 3 stored API keys'
    );
  });

  it('shows it only for a notebook open here, one at a time, with a reload action', async () => {
    const reverted: string[] = [];
    const s = shell(['open.ipynb'], reverted);
    expect(openDocument(s, 'open.ipynb')?.path).toBe('open.ipynb');
    expect(openDocument(s, 'closed.ipynb')).toBeNull();
    const w = watcher();
    const notices = new RedactionNotices(s, w, trans);
    expect(notices.show({ path: 'closed.ipynb', count: 1 })).toBe(false);
    expect(Notification.manager.count).toBe(0);
    w.receive(
      JSON.stringify({ type: 'redacted', path: 'open.ipynb', count: 1 })
    );
    w.receive(
      JSON.stringify({ type: 'redacted', path: 'open.ipynb', count: 2 })
    );
    const shown = Notification.manager.notifications;
    expect(shown).toHaveLength(1);
    expect(shown[0].type).toBe('warning');
    expect(shown[0].message).toContain('removed 2 stored API keys');
    expect(shown[0].options.autoClose).toBe(false);
    const [action] = shown[0].options.actions ?? [];
    expect(action.label).toBe('Reload from disk');
    action.callback(new MouseEvent('click'));
    await Promise.resolve();
    expect(reverted).toEqual(['open.ipynb']);
  });
});
