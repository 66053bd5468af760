import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { CredentialsClient } from './api';
import { keyIcon } from './icon';
import { CurrentNotebook } from './model/currentNotebook';
// Grant prompts listen from start-up (code may ask before the panel is opened).
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { startGrantPrompts } from './prompts';
// The panel is added to the sidebar during activation, so it is needed at once.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { CredentialsPanel, PANEL_ID } from './widget';

/** Command ids. */
export namespace CommandIDs {
  export const manage = 'open-notebook:manage-credentials';
}

/**
 * The "Credentials" sidebar panel of Open Notebook's credential store.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'open-notebook-ext:plugin',
  description:
    "A sidebar panel that manages Open Notebook's encrypted AI-provider credentials.",
  autoStart: true,
  optional: [ITranslator, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const trans = (translator ?? nullTranslator).load('open_notebook_ext');
    const client = new CredentialsClient(app.serviceManager.serverSettings);
    const panel = new CredentialsPanel(
      client,
      translator ?? nullTranslator,
      new CurrentNotebook(app.shell)
    );
    app.shell.add(panel, 'left', { rank: 850 });
    startGrantPrompts(app, client, trans, () => panel.refresh());
    if (restorer) {
      restorer.add(panel, PANEL_ID);
    }

    app.commands.addCommand(CommandIDs.manage, {
      // named by what it does (not "Open Notebook", which reads like a verb)
      label: trans.__('Credentials: Manage API keys'),
      caption: trans.__(
        'Add, edit and delete the API keys notebooks read with secrets.get'
      ),
      icon: args => (args.isPalette ? undefined : keyIcon),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => {
        app.shell.activateById(panel.id);
        panel.focusFirstControl();
      }
    });
    if (palette) {
      palette.addItem({
        command: CommandIDs.manage,
        category: trans.__('Credentials')
      });
    }
  }
};

export default plugin;
