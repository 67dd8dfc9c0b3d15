"""The published MkDocs Material site: agreed guidelines for clinicians, variation reports for network leads.

The pages about guidelines and topics are generated at build time by ``hooks`` (named in the
repository's ``mkdocs.yml``) from the same loader and variation engine the command line uses, so
the site can never say something ``harmonise compare`` does not. Nothing generated is committed.
``build.build_site`` is the programmatic entry point (``harmonise publish`` and the tests use it).

The public modules are named below (``hooks`` is named by ``mkdocs.yml``); the rest say in their
docstring that they are private to the package. Importing the package imports none of them.
"""

__all__ = ["build", "changes", "content", "events", "generate", "hooks", "live", "matrix", "settings", "words"]
