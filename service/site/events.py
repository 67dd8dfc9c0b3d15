"""What the site build does at each MkDocs event, and the state it keeps between them.

MkDocs loads ``hooks.py`` by file path, as a module of its own, so the state lives here, in the
package, where ``build.build_site`` can read it after the build.
"""

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from ..problems import Problem
from . import accessibility, generate, offline, progress
from .content import SiteContent, read_site_content
from .settings import EXTRA_KEY, SiteSettings


class ContentProblems(PluginError):
    """The content has errors; no site is built, because a page silently missing could mislead."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the content; run 'harmonise validate' for details. "
                         "The site was not built.")
        self.problems = problems


class SiteBuild:
    def __init__(self) -> None:
        self.content: SiteContent | None = None
        self.shim: bytes | None = None

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        """Read and compare the content once; add the generated sections to the navigation after Home."""
        root = Path(config.config_file_path).parent
        self.content = read_site_content(SiteSettings.from_extra(config.extra.get(EXTRA_KEY), root))
        if self.content.problems:
            raise ContentProblems(self.content.problems)
        nav = list(config.nav or [])
        config.nav = nav[:1] + generate.navigation(self.content) + nav[1:]
        self.shim = offline.shim(root)
        offline.localise_polyfills(config, self.shim is not None)
        offline.drop_server_only_pages(config)
        return config

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        """Add the generated pages and the FHIR downloads as in-memory files."""
        assert self.content is not None, "on_config runs first"
        for path, markdown in generate.pages(self.content).items():
            files.append(File.generated(config, path, content=markdown))
        for path, data in generate.downloads(self.content).items():
            files.append(File.generated(config, path, content=data))
        if self.shim is not None:
            files.append(File.generated(config, offline.LOCAL_SHIM, content=self.shim))
        progress.current().pages(len(files.documentation_pages()))
        return files

    def on_post_page(self, output: str, page: Page) -> str:
        progress.current().page_done(page.file.src_uri)
        return accessibility.name_search_dialog(output)


#: The one build in progress (MkDocs builds one site at a time in a process).
BUILD = SiteBuild()
