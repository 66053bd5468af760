/**
 * Grant prompts in this page: listen from start-up (not only once the panel
 * is shown: code may ask for a key before anyone opens it).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { TranslationBundle } from '@jupyterlab/translation';

import { CredentialsClient, IProvider } from '../api';
import { GrantPromptDialogs } from './dialogs';
import { RedactionNotices } from './redactions';
import { GrantPromptWatcher } from './watcher';

export * from './dialogs';
export * from './redactions';
export * from './watcher';

export function startGrantPrompts(
  app: JupyterFrontEnd,
  client: CredentialsClient,
  trans: TranslationBundle,
  onGranted: () => void
): GrantPromptWatcher {
  const watcher = new GrantPromptWatcher(app.serviceManager.serverSettings);
  let providers: Promise<IProvider[]> | null = null;
  const label = async (name: string) => {
    providers ??= client.providers();
    const found = (await providers).find(p => p.name === name);
    return found?.display_name ?? name;
  };
  new GrantPromptDialogs(watcher, trans, label);
  // a save that redacted keys from a notebook open here: a notification
  new RedactionNotices(app.shell, watcher, trans);
  watcher.granted.connect(onGranted);
  watcher.start();
  return watcher;
}
