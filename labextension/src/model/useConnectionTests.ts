/**
 * Connection tests (`POST credentials/{id}/test`): the last outcome of each
 * credential's test, kept until the credential's key or address changes.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { useCallback, useState } from 'react';

import {
  ApiError,
  asApiError,
  CredentialsClient,
  ICredential,
  ITestResult
} from '../api';
import { without } from '../utils';

export type TestState =
  | { state: 'running' }
  | { state: 'done'; result: ITestResult }
  | { state: 'failed'; message: string };

/** Callbacks; keep them stable (state setters, `useCallback`). */
export interface IConnectionTestsOptions {
  onSessionExpired: (error: ApiError) => void;
  /** A test ran (it is an audit event). */
  onDone?: () => void;
}

export interface IConnectionTestsModel {
  /** Credential id to the state of its last test. */
  tests: Record<string, TestState>;
  run: (credential: ICredential) => Promise<void>;
  /** Drop a credential's result (its key or base URL changed). */
  forget: (credentialId: string) => void;
}

export function useConnectionTests(
  client: CredentialsClient,
  trans: TranslationBundle,
  options: IConnectionTestsOptions
): IConnectionTestsModel {
  const [tests, setTests] = useState<Record<string, TestState>>({});
  const { onSessionExpired, onDone } = options;

  const run = useCallback(
    async (credential: ICredential) => {
      setTests(current => ({
        ...current,
        [credential.id]: { state: 'running' }
      }));
      let state: TestState;
      try {
        state = { state: 'done', result: await client.test(credential.id) };
      } catch (reason) {
        const error = asApiError(reason, trans);
        if (error.isUnauthenticated) {
          onSessionExpired(error);
          return;
        }
        state = { state: 'failed', message: error.detail };
      }
      setTests(current => ({ ...current, [credential.id]: state }));
      onDone?.();
    },
    [client, trans, onSessionExpired, onDone]
  );

  const forget = useCallback((credentialId: string) => {
    setTests(current => without(current, credentialId));
  }, []);

  return { tests, run, forget };
}
