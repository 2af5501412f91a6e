"""JupyterLab served by Debian's jupyter_server and jupyterlab_server (python3-jupyter-server,
python3-jupyterlab-server), with the front end lab/build.mjs bundled from JupyterLab's npm packages.

    /usr/bin/python3 lab/server.py --build DIR [jupyter_server options, e.g. --ServerApp.port=8888]

DIR is a finished build (lab/build.mjs prints it). Everything else is a stock jupyter_server: the
same config files, token, kernel specs and contents API as `jupyter server`. Settings and workspaces
live where JupyterLab keeps them (JUPYTERLAB_SETTINGS_DIR / JUPYTERLAB_WORKSPACES_DIR, else
<jupyter config dir>/lab/...), never inside the build, so a rebuild keeps them.
"""
import json
import logging
import os
import re
import sys

from jupyter_core.paths import jupyter_config_dir
from jupyterlab_server import LabServerApp

HERE = os.path.dirname(os.path.abspath(__file__))


def build_dir_from(argv):
    """Take `--build DIR` / `--build=DIR` out of argv (it is ours, not a traitlet); else $SIMVLM_LAB_BUILD."""
    for i, a in enumerate(list(argv)):
        if a.startswith("--build="):
            del argv[i]
            return a.split("=", 1)[1]
        if a == "--build" and i + 1 < len(argv):
            d = argv[i + 1]
            del argv[i : i + 2]
            return d
    return os.environ.get("SIMVLM_LAB_BUILD")


BUILD = build_dir_from(sys.argv)
if not BUILD or not os.path.isfile(os.path.join(BUILD, "bundle.js")):
    sys.exit(f"lab/server.py: no JupyterLab build at {BUILD!r}; run `node lab/build.mjs` (it prints the folder)")
BUILD = os.path.abspath(BUILD)
with open(os.path.join(BUILD, "build-info.json")) as f:
    INFO = json.load(f)
LAB_USER_DIR = os.path.join(jupyter_config_dir(), "lab")


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": SimvlmLab}]


class SimvlmLab(LabServerApp):
    name = "simvlm_lab"
    app_name = "JupyterLab"
    app_version = INFO.get("jupyterlab", "")
    extension_url = "/lab"
    default_url = "/lab"
    serverapp_config = {"terminals_enabled": False}  # this build has no terminal front end
    load_other_extensions = False  # a server extension written for the real JupyterLab may not fit this one
    static_dir = BUILD
    templates_dir = os.path.join(HERE, "templates")
    schemas_dir = os.path.join(BUILD, "schemas")
    themes_dir = os.path.join(BUILD, "themes")
    app_settings_dir = os.path.join(HERE, "settings")  # overrides.json: this app's defaults
    user_settings_dir = os.environ.get("JUPYTERLAB_SETTINGS_DIR", os.path.join(LAB_USER_DIR, "user-settings"))
    workspaces_dir = os.environ.get("JUPYTERLAB_WORKSPACES_DIR", os.path.join(LAB_USER_DIR, "workspaces"))
    # Prebuilt (federated) extensions need JupyterLab's module federation host; this build is not one.
    labextensions_path = []

    def initialize_settings(self):
        super().initialize_settings()
        # Idle culling as a backstop for kernels whose notebook was closed without shutting them
        # down: after an hour with no browser connected and no cell running. Configured values win.
        km = self.serverapp.kernel_manager
        user = self.serverapp.config.get("MappingKernelManager", {})
        if "cull_idle_timeout" not in user:
            km.cull_idle_timeout = 3600
        if "cull_interval" not in user:
            km.cull_interval = 300
        self.serverapp.log.addFilter(_MissingApiFilter())


class _MissingApiFilter(logging.Filter):
    """Drop the 404s of two jupyter_server 2 endpoints that Debian's 1.23 lacks: JupyterLab asks for
    /api/me once per page (and falls back to an anonymous user) and retries the /api/events websocket
    with backoff (nothing here emits events). Logged, they would fill the terminal every few seconds."""

    _missing = re.compile(r"\b404 GET /api/(events/subscribe|me)\b")

    def filter(self, record):
        return not self._missing.search(record.getMessage())


if __name__ == "__main__":
    SimvlmLab.launch_instance()
