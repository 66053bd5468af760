/**
 * The outcome of the last connection test, next to the credential. The
 * region is always there (empty before a test), so screen readers announce
 * "Testing…" and then the result as they appear.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { checkIcon, errorIcon, LabIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { TestState } from '../model';
import { labelProviders } from '../utils';

export function TestResult(props: {
  id: string;
  test?: TestState;
  trans: TranslationBundle;
  /** Provider ids in the server's message are shown as labels. */
  providerLabel?: (id: string) => string;
}): JSX.Element {
  const { trans } = props;
  const label = props.providerLabel ?? ((id: string) => id);
  let test = props.test;
  if (test?.state === 'failed') {
    test = { ...test, message: labelProviders(test.message, label) };
  } else if (test?.state === 'done') {
    const message = labelProviders(test.result.message, label);
    test = { ...test, result: { ...test.result, message } };
  }
  let text = '';
  let state = 'idle';
  let Icon: LabIcon | null = null;
  if (test?.state === 'running') {
    text = trans.__('Testing the connection…');
    state = 'running';
  } else if (test?.state === 'failed') {
    text = trans.__('Could not test the connection: %1', test.message);
    state = 'error';
    Icon = errorIcon;
  } else if (test?.state === 'done' && test.result.success) {
    text = trans.__('Connection test passed: %1', test.result.message);
    state = 'success';
    Icon = checkIcon;
  } else if (test?.state === 'done') {
    text = trans.__('Connection test failed: %1', test.result.message);
    state = 'failure';
    Icon = errorIcon;
  }
  return (
    <div
      id={props.id}
      className={`jp-OpenNotebook-testResult jp-mod-${state}`}
      role="status"
      aria-live="polite"
      data-test-state={state}
    >
      {Icon && (
        <Icon.react
          tag="span"
          className="jp-OpenNotebook-testIcon"
          aria-hidden="true"
        />
      )}
      {test?.state === 'running' && (
        <span className="jp-OpenNotebook-spinner" aria-hidden="true" />
      )}
      <span className="jp-OpenNotebook-testText">{text}</span>
    </div>
  );
}
