/**
 * The sidebar widget. Nothing is requested before the panel is first shown;
 * the list is loaded then, and again each time the panel is shown.
 */
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import React from 'react';

import { CredentialsClient } from './api';
import { CredentialsView } from './components/Panel';
import { keyIcon } from './icon';
import { CurrentNotebook } from './model';

export const PANEL_ID = 'open-notebook-credentials';

export class CredentialsPanel extends ReactWidget {
  constructor(
    private readonly client: CredentialsClient,
    translator: ITranslator,
    private readonly notebooks: CurrentNotebook
  ) {
    super();
    this.trans = translator.load('open_notebook_ext');
    this.id = PANEL_ID;
    this.addClass('jp-OpenNotebook-panel');
    this.title.icon = keyIcon;
    this.title.caption = this.trans.__('Credentials');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute(
      'aria-label',
      this.trans.__('Open Notebook credentials')
    );
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this.shown) {
      this.refreshToken++;
    }
    this.shown = true;
    this.update();
  }

  /**
   * Move the keyboard focus into the panel (its first control), once it has
   * rendered: opening it from the command palette should not leave the focus
   * on the Launcher behind it.
   */
  focusFirstControl(): void {
    let tries = 0;
    const attempt = () => {
      const target = this.node.querySelector<HTMLElement>(
        'button:not([disabled]), input:not([disabled]), select, textarea, a[href]'
      );
      if (target) {
        target.focus();
      } else if (++tries < 40) {
        window.setTimeout(attempt, 50);
      }
    };
    attempt();
  }

  /** Read everything again if the panel has been shown (e.g. a grant made elsewhere). */
  refresh(): void {
    if (this.shown) {
      this.refreshToken++;
      this.update();
    }
  }

  protected render(): JSX.Element | null {
    if (!this.shown) {
      return null;
    }
    return (
      <CredentialsView
        client={this.client}
        trans={this.trans}
        refreshToken={this.refreshToken}
        notebooks={this.notebooks}
      />
    );
  }

  private readonly trans: TranslationBundle;
  private refreshToken = 0;
  private shown = false;
}
