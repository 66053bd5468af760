/**
 * Just enough of JupyterLab's shell for `CurrentNotebook`: a current widget
 * and its change signal, and notebook panels whose path can change.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

export class FakeShell {
  currentWidget: Widget | null = null;
  readonly currentChanged = new Signal<this, unknown>(this);

  /** Bring `widget` to the front (null: nothing in the main area). */
  show(widget: Widget | null): void {
    this.currentWidget = widget;
    this.currentChanged.emit({ newValue: widget });
  }

  asShell(): JupyterFrontEnd.IShell {
    return this as unknown as JupyterFrontEnd.IShell;
  }
}

/** A notebook panel at `path`, as a document widget carries its context. */
export class FakeNotebook extends Widget {
  readonly context: {
    path: string;
    pathChanged: Signal<FakeNotebook, string>;
  };

  constructor(path: string) {
    super();
    this.addClass('jp-NotebookPanel');
    this.context = { path, pathChanged: new Signal(this) };
  }

  rename(path: string): void {
    this.context.path = path;
    this.context.pathChanged.emit(path);
  }
}
