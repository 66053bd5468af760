import { Widget } from '@lumino/widgets';

import { CurrentNotebook, INotebookRef } from '../model';
import { FakeNotebook, FakeShell } from './shell';

describe('CurrentNotebook', () => {
  let shell: FakeShell;
  let current: CurrentNotebook;
  let seen: (INotebookRef | null)[];

  beforeEach(() => {
    shell = new FakeShell();
    current = new CurrentNotebook(shell.asShell());
    seen = [];
    current.changed.connect((_, ref) => seen.push(ref));
  });

  it('gives the path and name of the notebook in front', () => {
    expect(current.current).toBeNull();
    shell.show(new FakeNotebook('work/analysis.ipynb'));
    expect(current.current).toEqual({
      path: 'work/analysis.ipynb',
      name: 'analysis.ipynb',
      renamedFrom: undefined
    });
    expect(seen).toHaveLength(1);
  });

  it('gives null for anything that is not a notebook', () => {
    shell.show(new FakeNotebook('a.ipynb'));
    const editor = new Widget();
    editor.addClass('jp-FileEditor');
    shell.show(editor);
    expect(current.current).toBeNull();
    shell.show(null);
    expect(seen.map(r => r?.path ?? null)).toEqual(['a.ipynb', null]);
  });

  it('ignores a notebook without a usable context', () => {
    const broken = new Widget();
    broken.addClass('jp-NotebookPanel');
    shell.show(broken);
    expect(current.current).toBeNull();
    expect(seen).toEqual([]);
  });

  it('follows a rename of the notebook in front, and only that one', () => {
    const first = new FakeNotebook('a.ipynb');
    const second = new FakeNotebook('b.ipynb');
    shell.show(first);
    first.rename('renamed.ipynb');
    expect(current.current).toEqual({
      path: 'renamed.ipynb',
      name: 'renamed.ipynb',
      renamedFrom: 'a.ipynb'
    });
    shell.show(second);
    first.rename('again.ipynb');
    expect(current.current?.path).toBe('b.ipynb');
    expect(seen.map(r => r?.path)).toEqual([
      'a.ipynb',
      'renamed.ipynb',
      'b.ipynb'
    ]);
  });

  it('gives a console in front, by its session path and name', () => {
    const console = new Widget();
    console.addClass('jp-ConsolePanel');
    Object.assign(console, {
      sessionContext: { path: 'work/console-1-abc', name: 'Console 1' }
    });
    shell.show(console);
    expect(current.current).toEqual({
      path: 'work/console-1-abc',
      name: 'Console 1',
      kind: 'console'
    });
    const starting = new Widget();
    starting.addClass('jp-ConsolePanel');
    Object.assign(starting, { sessionContext: { path: '' } });
    shell.show(starting);
    expect(current.current).toBeNull();
  });

  it('does not announce the same notebook twice', () => {
    const nb = new FakeNotebook('a.ipynb');
    shell.show(nb);
    shell.show(nb);
    expect(seen).toHaveLength(1);
  });
});
