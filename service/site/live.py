"""The site served at ``/`` by ``harmonise serve``, kept in step with the store.

A background thread watches the store's change number (``Store.last_change``): every write moves it,
whichever door it came through (the API, a command, a load). When it has moved, the whole site is
built again from the store into a new folder, and only when that build is complete is it swapped
in, so a reader never sees a half-built site. Builds run one at a time; changes made during a
build are picked up by the next one. At the sample network's size a build takes a few seconds.

``harmonise publish`` still writes a complete static site for offline use; this is the same build.
"""

import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Final

from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from ..store import Store
from .build import build_site
from .settings import SiteSettings, build_day

log = logging.getLogger(__name__)

#: Seconds between looks at the store's change number.
POLL_SECONDS: Final = 1.0


class LiveSite:
    """An ASGI app serving the newest complete build of the site from the store at ``database``."""

    def __init__(self, database: str, config_file: Path, root: Path, serve: type[StaticFiles] = StaticFiles,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.database, self.config_file, self.root = database, config_file, root
        self._serve, self.poll_seconds = serve, poll_seconds
        self._folder = Path(tempfile.mkdtemp(prefix="harmonise-site-"))
        self._current: StaticFiles | None = None
        #: The change number the served build was made from; None until the first build is in.
        self.built_change: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store = Store.open(database, operator=None)

    def start(self) -> None:
        """Build once now (so ``/`` answers from the start), then keep watching in the background."""
        self._rebuild_if_changed()
        self._thread = threading.Thread(target=self._watch, name="harmonise-site", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self._store.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self._rebuild_if_changed()
            except Exception:  # a failed build keeps the last good site; say why, and try again on the next change
                log.exception("the site could not be rebuilt from the store; the previous build is still served")

    def _rebuild_if_changed(self) -> None:
        change = self._store.last_change()
        if change == self.built_change:
            return
        target = self._folder / f"build-{change}"
        settings = SiteSettings(self.root / "pathways", self.root / "guidelines", build_day(), root=self.root,
                                database=self.database)
        try:
            build_site(settings, target, self.config_file)
        except Exception:
            shutil.rmtree(target, ignore_errors=True)
            self.built_change = change  # not again until the store changes again
            raise
        self._current, self.built_change = self._serve(directory=target, html=True), change
        # The build before the one just replaced goes: a request still reading the replaced one may finish.
        for old in sorted(self._folder.glob("build-*"), key=lambda path: int(path.name.split("-")[1]))[:-2]:
            shutil.rmtree(old, ignore_errors=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        current = self._current  # one build for the whole request, whatever the watcher swaps in meanwhile
        if current is None:
            from starlette.responses import HTMLResponse

            await HTMLResponse("<!doctype html><title>Harmonise</title><p>The site is being built from the store; "
                               "try again in a few seconds. The FHIR API is at <a href=\"fhir/metadata\">/fhir</a>.",
                               status_code=503, headers={"Retry-After": "5"})(scope, receive, send)
            return
        await current(scope, receive, send)
