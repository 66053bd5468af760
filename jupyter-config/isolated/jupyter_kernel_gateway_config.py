"""Jupyter Kernel Gateway for open_notebook_ext's isolated kernels (issue 17).

Run the gateway as an OS user of its own, in the notebooks directory, with the
environment (open_notebook_ext, ipykernel, jupyter-kernel-gateway) readable by
that user:

  cd /srv/notebooks
  sudo -u onkernels OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE=/run/onkernels/gateway_token \\
      /opt/onkernels/bin/jupyter kernelgateway \\
      --config=jupyter-config/isolated/jupyter_kernel_gateway_config.py \\
      --KernelGatewayApp.ip=127.0.0.1 --KernelGatewayApp.port=8889

What this does (open_notebook_ext.kernels.gateway.configure_gateway):

* the gateway marks itself non-dumpable, so its kernels (same user) cannot read
  its environment or memory;
* it reads its token from OPEN_NOTEBOOK_GATEWAY_TOKEN_FILE (0600, 32+
  characters) and deletes the file, so its kernels cannot read that either
  (the server keeps its own copy); it refuses to start without one;
* kernels get only the server's URL and their own token from the server's
  request (plus PATH and a few harmless variables of the gateway's), and Python
  kernels start through open_notebook_ext.kernel_launch (non-dumpable, token
  handed over a socket); OPEN_NOTEBOOK_KERNEL_PYTHON may name an execute-only
  copy of the interpreter (see README, "Isolated kernels").
"""

from open_notebook_ext.kernels.gateway import configure_gateway

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file
configure_gateway(c)
