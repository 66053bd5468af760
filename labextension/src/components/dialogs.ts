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
    ],
    // Cancel has the focus: Enter on a destructive dialog does nothing harmful
    defaultButton: 0
  });
  return result.button.accept;
}

export function confirmDelete(
  credential: ICredential,
  providerLabel: string,
  trans: TranslationBundle,
  grants: IGrant[] | null = null
): Promise<boolean> {
  const question = trans.__(
    'Delete “%1” (%2)? Its API key is deleted too. This cannot be undone.',
    credential.name,
    providerLabel
  );
  const users = (grants ?? []).map(g => g.notebook_path);
  return confirm(
    trans.__('Delete credential'),
    users.length
      ? `${question} ${trans._n(
          'This notebook will stop working: %2 (secrets.get(%3) fails there).',
          'These notebooks will stop working: %2 (secrets.get(%3) fails there).',
          users.length,
          users.join(', '),
          JSON.stringify(credential.name)
        )}`
      : question,
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
