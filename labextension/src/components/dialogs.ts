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

/**
 * Renaming a credential that notebooks are granted: their code names it
 * (`secrets.get("Old")`) and stops working under the new name. Asked before
 * the save, with the focus on Cancel; nothing to ask when no notebook uses it.
 */
export async function confirmRename(
  credential: ICredential,
  newName: string,
  providerLabel: string,
  trans: TranslationBundle,
  grants: IGrant[] | null
): Promise<boolean> {
  const users = (grants ?? []).map(g => g.notebook_path);
  if (users.length === 0) {
    return true;
  }
  return confirm(
    trans.__('Rename credential'),
    `${trans.__(
      'Rename “%1” (%2) to “%3”?',
      credential.name,
      providerLabel,
      newName
    )} ${trans._n(
      'This notebook will stop working where its code calls secrets.get(%3) (it would need secrets.get(%4)): %2.',
      'These notebooks will stop working where their code calls secrets.get(%3) (it would need secrets.get(%4)): %2.',
      users.length,
      users.join(', '),
      JSON.stringify(credential.name),
      JSON.stringify(newName)
    )}`,
    trans.__('Rename'),
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
