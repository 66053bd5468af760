/**
 * "Use in code": the call shown and the snippet copied.
 */
import { readCall, snippet } from '../components/UseInCode';
import { credential } from './fixtures';

describe('use in code', () => {
  it('reads the key by name, with the provider when the name is used twice', () => {
    const c = credential({ name: 'Work "A"', provider: 'openai' });
    expect(readCall(c, false)).toBe('secrets.get("Work \\"A\\"")');
    expect(readCall(c, true)).toBe(
      'secrets.get("Work \\"A\\"", provider="openai")'
    );
    expect(snippet(c, false)).toBe(
      'from open_notebook_ext import secrets\nkey = secrets.get("Work \\"A\\"")\n'
    );
  });
});
