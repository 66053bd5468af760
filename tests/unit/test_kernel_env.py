"""The kernel environment firewall (kernel_env.py), without a server."""

import asyncio

from open_notebook_ext.kernels.env import SERVER_SECRETS, EnvFirewall
from open_notebook_ext.vault.provider_env import secret_variables


def test_built_in_names_cannot_be_configured_away_and_patterns_add():
    fw = EnvFirewall(["ACME_*_SECRET", "  ", "EXACT_NAME", "HF_?OKEN"])
    for name in (*SERVER_SECRETS, *secret_variables(), "ACME_DB_SECRET", "EXACT_NAME", "HF_TOKEN"):
        assert name in fw, name
    for name in (
        "PATH",
        "HOME",
        "OPENAI_BASE_URL",
        "acme_db_secret",
        "EXACT_NAME_2",
        "OPEN_NOTEBOOK_URL",
        "OPEN_NOTEBOOK_KERNEL_TOKEN",
    ):
        assert name not in fw, name
    assert 3 not in fw


def test_filter_and_blocked():
    fw = EnvFirewall()
    env = {
        "PATH": "/bin",
        "OPENAI_API_KEY": "sk-1",
        "JUPYTER_TOKEN": "t",
        "GOOGLE_APPLICATION_CREDENTIALS": "/keys/sa.json",
    }
    assert fw.filter(env) == {"PATH": "/bin"}
    assert fw.blocked(env) == ["GOOGLE_APPLICATION_CREDENTIALS", "JUPYTER_TOKEN", "OPENAI_API_KEY"]
    assert env["OPENAI_API_KEY"] == "sk-1"  # the input is not changed


def test_the_provisioner_applies_the_firewall_on_every_launch():
    from jupyter_client.kernelspec import KernelSpec

    from open_notebook_ext.kernels.provisioner import KernelLaunchProvisioner

    spec = KernelSpec(
        argv=["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        language="python",
        display_name="Python 3",
    )
    provisioner = KernelLaunchProvisioner(kernel_id="k1", kernel_spec=spec, parent=None)
    env = {"PATH": "/bin", "ANTHROPIC_API_KEY": "sk-ant", "OPEN_NOTEBOOK_KERNEL_TOKEN": "onk_x"}
    kwargs = asyncio.run(provisioner.pre_launch(env=env))
    assert kwargs["env"] == {"PATH": "/bin", "OPEN_NOTEBOOK_KERNEL_TOKEN": "onk_x"}
    assert kwargs["cmd"][:3] == ["python", "-m", "ipykernel_launcher"]
