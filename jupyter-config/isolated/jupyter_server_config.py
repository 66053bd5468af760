"""Jupyter Server with its kernels on a Kernel Gateway run as another user (issue 17).

  OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE=~/.config/open-notebook/gateway_token \\
      jupyter lab --config=jupyter-config/isolated/jupyter_server_config.py

The gateway: jupyter_kernel_gateway_config.py beside this file. Both must see
the notebooks at the same path (the server's root directory is the gateway's
working directory). open_notebook_ext does the rest when GatewayClient.url is
set: it reads the gateway's token from OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE (and
refuses to start without one), lets the per-kernel URL and token through
GatewayClient.allowed_envs, binds each kernel's token to the id the gateway
assigns, and keeps the kernel's environment out of the server's log.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

c.GatewayClient.url = os.environ.get("JUPYTER_GATEWAY_URL", "http://127.0.0.1:8889")
c.ServerApp.root_dir = os.environ.get("NOTEBOOK_DIR", os.getcwd())
