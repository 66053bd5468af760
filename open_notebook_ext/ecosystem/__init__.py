"""Where the keys are used: imports from the environment and ``.env`` files, and
jupyter-ai's secrets kept in the encrypted store (issue 19).

Server side only. The kernel side is ``open_notebook_ext.secrets`` (``secrets.env``),
``open_notebook_ext.userdata`` and ``open_notebook_ext.magics``.
"""
