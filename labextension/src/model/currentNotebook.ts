/**
 * Which notebook (or console) is open in the main area: the one the panel
 * offers to grant access to ("Allow analysis.ipynb to read this key", "Allow
 * this console to read this key").
 *
 * It follows the shell's current widget: a notebook panel (any document
 * widget of the notebook factory) gives its path, anything else (a launcher,
 * a text file, nothing) gives null. A rename of that notebook is followed too.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { PathExt } from '@jupyterlab/coreutils';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { useEffect, useState } from 'react';

export interface INotebookRef {
  /** The path under the Jupyter root, as grants store it (a console's session path). */
  path: string;
  /** The file name, for labels (a console's name, "Console 1"). */
  name: string;
  /** A console: its path names no file; its grant ends with its kernel. */
  kind?: 'notebook' | 'console';
  /** Set when this is the previous notebook under a new name. */
  renamedFrom?: string;
}

/** The part of a document context this needs. */
interface IPathContext {
  readonly path: string;
  readonly pathChanged: ISignal<unknown, string>;
}

/** A console panel's session: its path never changes. */
interface IConsoleContext extends IPathContext {
  readonly name: string;
  readonly console: true;
}

const NEVER = new Signal<unknown, string>({});

function consoleContext(widget: Widget): IConsoleContext | null {
  const session = (
    widget as Widget & {
      sessionContext?: { path?: unknown; name?: unknown };
    }
  ).sessionContext;
  if (!session || typeof session.path !== 'string' || !session.path) {
    return null;
  }
  return {
    path: session.path,
    pathChanged: NEVER,
    name: typeof session.name === 'string' && session.name ? session.name : '',
    console: true
  };
}

function notebookContext(
  widget: Widget | null
): IPathContext | IConsoleContext | null {
  if (!widget || widget.isDisposed) {
    return null;
  }
  if (widget.hasClass('jp-ConsolePanel')) {
    return consoleContext(widget);
  }
  if (!widget.hasClass('jp-NotebookPanel')) {
    return null;
  }
  const context = (widget as Widget & { context?: Partial<IPathContext> })
    .context;
  if (
    !context ||
    typeof context.path !== 'string' ||
    !context.path ||
    !context.pathChanged
  ) {
    return null;
  }
  return context as IPathContext;
}

export class CurrentNotebook {
  constructor(shell: JupyterFrontEnd.IShell) {
    this.shell = shell;
    shell.currentChanged?.connect(this.onCurrentChanged, this);
    this.onCurrentChanged();
  }

  /** The notebook open in the main area, or null. */
  get current(): INotebookRef | null {
    return this._current;
  }

  /** Emitted when `current` changes (another notebook, none, a rename). */
  get changed(): ISignal<this, INotebookRef | null> {
    return this._changed;
  }

  private onCurrentChanged(): void {
    const context = notebookContext(this.shell.currentWidget);
    this.console = context && 'console' in context ? context : null;
    if (context !== this.context) {
      this.context?.pathChanged.disconnect(this.onPathChanged, this);
      this.context = context;
      context?.pathChanged.connect(this.onPathChanged, this);
    }
    this.set(context ? context.path : null);
  }

  private onPathChanged(): void {
    const before = this._current?.path;
    this.set(this.context ? this.context.path : null, before);
  }

  private set(path: string | null, renamedFrom?: string): void {
    if ((this._current?.path ?? null) === path) {
      return;
    }
    const console = this.console;
    this._current = !path
      ? null
      : console && console.path === path
        ? { path, name: console.name || path, kind: 'console' }
        : { path, name: PathExt.basename(path), renamedFrom };
    this._changed.emit(this._current);
  }

  private readonly shell: JupyterFrontEnd.IShell;
  private context: IPathContext | null = null;
  private console: IConsoleContext | null = null;
  private _current: INotebookRef | null = null;
  private readonly _changed = new Signal<this, INotebookRef | null>(this);
}

/** The notebook in front, followed as the user switches and renames. */
export function useCurrentNotebook(
  notebooks: CurrentNotebook
): INotebookRef | null {
  const [notebook, setNotebook] = useState<INotebookRef | null>(
    notebooks.current
  );
  useEffect(() => {
    const onChanged = (_: CurrentNotebook, current: INotebookRef | null) => {
      setNotebook(current);
    };
    notebooks.changed.connect(onChanged);
    setNotebook(notebooks.current);
    return () => {
      notebooks.changed.disconnect(onChanged);
    };
  }, [notebooks]);
  return notebook;
}
