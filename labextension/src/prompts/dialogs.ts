/**
 * The "Allow / Deny" dialog of a grant prompt, one at a time, as Colab asks
 * when a notebook reads a secret. Deny is the default button; closing the
 * dialog (Escape, ×) is a Deny. A prompt that ends elsewhere (another tab
 * answered, the code stopped waiting, the timeout) closes its dialog.
 *
 * Names and paths are user input: the body is text nodes only.
 */
import { Dialog, Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { asApiError } from '../api/errors';
import { GrantPromptWatcher, IGrantPrompt } from './watcher';

/** The label of a session for people: "analysis.ipynb", "Console". */
export function sessionLabel(
  prompt: Pick<IGrantPrompt, 'notebook_path' | 'session_type'>,
  trans: TranslationBundle
): string {
  if (prompt.session_type === 'console') {
    return trans.__('A console');
  }
  return PathExt.basename(prompt.notebook_path);
}

export function promptText(
  prompt: IGrantPrompt,
  providerLabel: string,
  trans: TranslationBundle
): { question: string; detail: string } {
  return {
    question: trans.__(
      '%1 wants to read “%2” (%3).',
      sessionLabel(prompt, trans),
      prompt.credential_name,
      providerLabel
    ),
    detail:
      prompt.session_type === 'console'
        ? trans.__(
            'Allow lets code in this console read the key until the console is closed.'
          )
        : trans.__(
            'Allow lets code in %1 read this key from now on (a grant; revoke it in the Credentials panel). Deny: secrets.get raises AccessDenied.',
            prompt.notebook_path
          )
  };
}

function body(text: { question: string; detail: string }): Widget {
  const node = document.createElement('div');
  node.className = 'jp-OpenNotebook-grantPromptBody';
  const question = document.createElement('p');
  question.className = 'jp-OpenNotebook-grantPromptQuestion';
  question.textContent = text.question;
  const detail = document.createElement('p');
  detail.className = 'jp-OpenNotebook-help';
  detail.textContent = text.detail;
  node.append(question, detail);
  return new Widget({ node });
}

export class GrantPromptDialogs {
  constructor(
    private readonly watcher: GrantPromptWatcher,
    private readonly trans: TranslationBundle,
    private readonly providerLabel: (provider: string) => Promise<string>
  ) {
    watcher.added.connect(() => void this.next(), this);
    watcher.closed.connect((_, { id }) => {
      if (this.showing?.id === id) {
        this.dialog?.dispose();
      }
    }, this);
  }

  /** Show the oldest pending prompt, unless one is showing. */
  private async next(): Promise<void> {
    if (this.showing) {
      return;
    }
    const prompt = this.watcher.pending[0];
    if (!prompt) {
      return;
    }
    this.showing = prompt;
    const trans = this.trans;
    let label = prompt.provider;
    try {
      label = await this.providerLabel(prompt.provider);
    } catch {
      // the id then
    }
    const dialog = new Dialog({
      title: trans.__('Allow access to an API key?'),
      body: body(promptText(prompt, label, trans)),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Deny') }),
        Dialog.okButton({ label: trans.__('Allow') })
      ],
      defaultButton: 0,
      hasClose: true
    });
    dialog.addClass('jp-OpenNotebook-grantPrompt');
    this.dialog = dialog;
    let decision: 'allow' | 'deny' | null = null;
    try {
      const result = await dialog.launch();
      decision = result.button.accept ? 'allow' : 'deny';
    } catch {
      decision = null; // closed because the prompt ended elsewhere
    }
    this.dialog = null;
    this.showing = null;
    if (decision && this.watcher.pending.some(p => p.id === prompt.id)) {
      try {
        await this.watcher.answer(prompt, decision);
        if (decision === 'allow') {
          Notification.success(
            trans.__(
              '%1 can now read “%2”.',
              sessionLabel(prompt, trans),
              prompt.credential_name
            ),
            { autoClose: 5000 }
          );
        }
      } catch (reason) {
        Notification.error(
          trans.__(
            'Could not answer the request for “%1”: %2',
            prompt.credential_name,
            asApiError(reason, trans).detail
          ),
          { autoClose: 8000 }
        );
      }
    }
    void this.next();
  }

  private showing: IGrantPrompt | null = null;
  private dialog: Dialog<unknown> | null = null;
}
