"""The network workspace at ``/workspace``: the governance loop as server-rendered HTML (issue #18).

A door like the API and the site: it signs people in (``store.accounts``, ``security.passwords``),
gives them the roles of the API's tokens (``security.policy``), and calls the application layer,
every change audited with the signed-in person as the agent. See ``workspace.app``.
"""

from .app import create_workspace_app

__all__ = ["create_workspace_app"]
