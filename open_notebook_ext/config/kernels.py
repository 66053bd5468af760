"""What kernels may read and how they start: grants, prompts, redaction, launcher.

Mixed into ``OpenNotebookApp`` (app.py): the settings stay ``c.OpenNotebookApp.<name>``.
"""

from __future__ import annotations

import os

from traitlets import Bool, Float, HasTraits, List, Unicode, default


class KernelSettings(HasTraits):
    """Kernel-side settings of OpenNotebookApp (``c.OpenNotebookApp.*``)."""

    require_grants = Bool(
        True,
        config=True,
        help="""A kernel may read a credential's key only if its notebook was granted that
        credential (panel: "Notebooks with access", API: grants). False lets every kernel of
        this server read every key of its owner (single-user convenience).""",
    )

    grant_prompt_timeout = Float(
        60.0,
        config=True,
        help="""Seconds a denied secrets.get waits while a JupyterLab page asks "Allow /
        Deny" (the call then gets the key or AccessDenied). Only while a logged-in page of
        the same user is open: with none, the call is denied at once, as when this is 0
        (no prompts).""",
    )

    redact_outputs = Bool(
        True,
        config=True,
        help="""Before a notebook is saved, replace stored API keys (8+ characters) found in
        its outputs with [REDACTED:<credential name>]. A safety net, not a guarantee.""",
    )

    kernel_url = Unicode(
        config=True,
        help="""URL kernels use to reach this server (OPEN_NOTEBOOK_URL in their
        environment). Default: the server's own connection URL; with a Kernel Gateway
        in another container, the server's address there (http://jupyter:8888/).
        Environment: OPEN_NOTEBOOK_KERNEL_URL.""",
    )

    @default("kernel_url")
    def _kernel_url_default(self) -> str:
        return os.environ.get("OPEN_NOTEBOOK_KERNEL_URL", "")

    non_dumpable = Bool(
        True,
        config=True,
        help="""Mark the server process non-dumpable at start-up (Linux
        prctl(PR_SET_DUMPABLE, 0), as ssh-agent does): processes of the same OS user,
        kernels included, can then not read its environment (/proc/<pid>/environ),
        open files or memory, nor attach a debugger. Turn off to profile or debug the
        server (py-spy, gdb). Elsewhere than Linux: a no-op, logged.""",
    )

    kernel_launcher = Bool(
        True,
        config=True,
        help="""Start local Python kernels through open_notebook_ext.kernel_launch (the
        open-notebook-launcher kernel provisioner): each kernel is non-dumpable from its
        first statements, and gets its token over an inherited socket instead of its
        environment, so sibling kernels and the kernel's own subprocesses cannot read it.
        Off: the token is in the kernel's environment (OPEN_NOTEBOOK_KERNEL_TOKEN).""",
    )

    gateway_token_file = Unicode(
        config=True,
        help="""With a Kernel Gateway (GatewayClient.url): a file holding the gateway's
        token, read at start-up into GatewayClient.auth_token (so the token is in no
        environment and no configuration file). Environment:
        OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE.""",
    )

    @default("gateway_token_file")
    def _gateway_token_file_default(self) -> str:
        return os.environ.get("OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE", "").strip()

    kernel_env_strip = List(
        Unicode(),
        config=True,
        help="""More environment variables to remove from every kernel's environment:
        names, or shell-style patterns (``*_API_KEY``, ``HF_*``; case-sensitive). Always
        removed, whatever this says: the server's token and password, the encryption
        key(s), the database URL and password, the ``*_FILE`` variables that say where one
        of those is stored, the gateway's token, and every provider key variable of
        ``GET providers`` (OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_API_KEY,
        GEMINI_API_KEY, AZURE_OPENAI_API_KEY, ...; the table in ``vault/provider_env.py``).""",
    )
