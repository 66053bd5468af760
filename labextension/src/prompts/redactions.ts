/**
 * A visible notice when a save redacted stored API keys from a notebook's
 * outputs (the server's pre-save hook replaced them with
 * `[REDACTED:<name>]`). The server says so on the grant-prompt socket with
 * the notebook's path and a count, never a key; this page shows it only if it
 * has that notebook open, one notification per notebook at a time (a later
 * save replaces it rather than stacking another).
 *
 * The notebook on screen still shows the keys (they were redacted from what
 * was written, not from the page): the notification offers to reload it from
 * disk.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { GrantPromptWatcher, IRedaction } from './watcher';

/** The part of a document widget's context this needs. */
interface IRevertible {
  readonly path: string;
  revert(): Promise<void>;
}

function contextOf(widget: Widget): IRevertible | null {
  const context = (widget as Widget & { context?: Partial<IRevertible> })
    .context;
  return context &&
    typeof context.path === 'string' &&
    typeof context.revert === 'function'
    ? (context as IRevertible)
    : null;
}

/** The open document widget of `path` in the main area, if any. */
export function openDocument(
  shell: JupyterFrontEnd.IShell,
  path: string
): IRevertible | null {
  for (const widget of shell.widgets('main')) {
    const context = contextOf(widget);
    if (context?.path === path) {
      return context;
    }
  }
  return null;
}

export function redactionMessage(
  redaction: IRedaction,
  trans: TranslationBundle
): string {
  return trans._n(
    'Saving %2 removed %1 stored API key from its outputs (replaced with [REDACTED:…] in the file). The notebook on screen still shows it until reloaded.',
    'Saving %2 removed %1 stored API keys from its outputs (replaced with [REDACTED:…] in the file). The notebook on screen still shows them until reloaded.',
    redaction.count,
    redaction.path
  );
}

export class RedactionNotices {
  constructor(
    private readonly shell: JupyterFrontEnd.IShell,
    watcher: GrantPromptWatcher,
    private readonly trans: TranslationBundle
  ) {
    watcher.redacted.connect((_, redaction) => this.show(redaction));
  }

  /** Show (or update) the notice for a redaction; false when the notebook is not open here. */
  show(redaction: IRedaction): boolean {
    const document = openDocument(this.shell, redaction.path);
    if (!document) {
      return false;
    }
    const trans = this.trans;
    const options = {
      autoClose: false as const,
      actions: [
        {
          label: trans.__('Reload from disk'),
          caption: trans.__(
            'Show the notebook as it was saved, without the keys'
          ),
          callback: () => void document.revert()
        }
      ]
    };
    const previous = this.shown.get(redaction.path);
    if (previous !== undefined) {
      Notification.dismiss(previous);
    }
    this.shown.set(
      redaction.path,
      Notification.warning(redactionMessage(redaction, trans), options)
    );
    return true;
  }

  private readonly shown = new Map<string, string>();
}
