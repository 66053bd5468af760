/**
 * The confirmations the panel asks for, as JupyterLab dialogs (their body
 * is text: names and paths are user input).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { ICredential, IGrant } from '../api';

async function confirm(
  title: string,
  body: string,
  action: string,
  trans: TranslationBundle
): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: action })
    ]
  });
  return result.button.accept;
}

export function confirmDelete(
  credential: ICredential,
  providerLabel: string,
  trans: TranslationBundle
): Promise<boolean> {
  return confirm(
    trans.__('Delete credential'),
    trans.__(
      'Delete “%1” (%2)? Its API key is deleted too. This cannot be undone.',
      credential.name,
      providerLabel
    ),
    trans.__('Delete'),
    trans
  );
}

export function confirmRevoke(
  credential: ICredential,
  grant: IGrant,
  trans: TranslationBundle
): Promise<boolean> {
  return confirm(
    trans.__('Revoke access'),
    trans.__(
      '“%1” will no longer be able to read the key of “%2”: secrets.get(%3) will fail there.',
      grant.notebook_path,
      credential.name,
      JSON.stringify(credential.name)
    ),
    trans.__('Revoke'),
    trans
  );
}
