/**
 * Where the server's refusal of a save is shown: each field error next to
 * its field, the rest (and the summary) above the form.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { ApiError } from '../api';
import { labelProviders } from '../utils';
import { FieldErrors, serverFieldName } from '../validation';

export interface IPlacedErrors {
  /** Form field name to message. */
  fields: FieldErrors;
  /** The line above the form. */
  form: string;
}

/**
 * Sort an error answer's `errors` into the form's fields (`known` names them)
 * and a summary. A 409 naming `name` is a name already used for this provider.
 * Provider ids in the server's messages are shown as their labels.
 */
export function placeServerErrors(
  error: ApiError,
  known: Iterable<string>,
  trans: TranslationBundle,
  providerLabel: (id: string) => string = id => id
): IPlacedErrors {
  const text = (message: string) => labelProviders(message, providerLabel);
  const knownFields = new Set(known);
  const fields: FieldErrors = {};
  const unplaced: string[] = [];
  for (const e of error.errors) {
    const field = serverFieldName(e.field);
    if (knownFields.has(field) && !fields[field]) {
      fields[field] = text(e.message);
    } else {
      unplaced.push(text(e.field ? `${e.field}: ${e.message}` : e.message));
    }
  }
  const nameTaken =
    error.status === 409 && error.errors.some(e => e.field === 'name');
  if (nameTaken) {
    fields.name = trans.__(
      'is already used by another credential of this provider'
    );
  }
  let form: string;
  if (unplaced.length > 0) {
    form = unplaced.join('; ');
  } else if (nameTaken || Object.keys(fields).length === 0) {
    form = text(error.detail);
  } else {
    form = trans.__('The server did not accept the fields marked below.');
  }
  return { fields, form };
}
