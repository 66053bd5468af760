export * from './currentNotebook';
export * from './formErrors';
export * from './useActivity';
export * from './useConnectionTests';
export * from './useCredentialForm';
export * from './useCredentials';
export * from './useGrants';
export * from './usePanel';
