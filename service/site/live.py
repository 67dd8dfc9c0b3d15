"""The site served at ``/`` by ``harmonise serve``, kept in step with the store.

A background thread watches the store's change number (``Store.last_change``): every write moves it,
whichever door it came through (the API, a command, a load). When it has moved, the whole site is
built again from the store into a new folder, and only when that build is complete is it swapped
in, so a reader never sees a half-built site. Builds run one at a time; changes made during a
build are picked up by the next one. At the sample network's size a build takes a few seconds.

Each build is ``harmonise publish`` in a process of its own, so the API's requests never wait for
the build's Python (one interpreter lock) and the build's memory goes when it is done. The whole
site is built each time: the pages share the navigation and the overview, so a change to one
topic would touch most of them anyway.

``harmonise publish`` still writes a complete static site for offline use; this is the same build.
"""

import logging
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Final

from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from ..store import Store
from .settings import build_day

log = logging.getLogger(__name__)

#: Seconds between looks at the store's change number.
POLL_SECONDS: Final = 1.0


class LiveSite:
    """An ASGI app serving the newest complete build of the site from the store at ``database``."""

    def __init__(self, store: Store, database: str, root: Path, serve: type[StaticFiles] = StaticFiles,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.database, self.root = database, root
        #: The app's store (its pool), read only for the change number; the builds open their own.
        self._store = store
        self._serve, self.poll_seconds = serve, poll_seconds
        self._folder = Path(tempfile.mkdtemp(prefix="harmonise-site-"))
        self._current: StaticFiles | None = None
        #: The change number the served build was made from; None until the first build is in.
        self.built_change: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Build in the background, at once and then after every change; ``/`` says it is being built meanwhile."""
        self._thread = threading.Thread(target=self._watch, name="harmonise-site", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        shutil.rmtree(self._folder, ignore_errors=True)

    def _watch(self) -> None:
        while True:
            try:
                self._rebuild_if_changed()
            except Exception:  # a failed build keeps the last good site; say why, and try again on the next change
                log.exception("the site could not be rebuilt from the store; the previous build is still served")
            if self._stop.wait(self.poll_seconds):
                return

    def _rebuild_if_changed(self) -> None:
        change = self._store.last_change()
        if change == self.built_change:
            return
        target = self._folder / f"build-{change}"
        command = [sys.executable, "-c", "from service.cli import main; main()", "publish", "--database",
                   self.database, "--out", str(target), "--as-of", build_day().isoformat(), "--format", "json"]
        built = subprocess.run(command, cwd=self.root, capture_output=True, text=True, check=False,
                               stdin=subprocess.DEVNULL)
        if built.returncode != 0 or not (target / "index.html").is_file():
            shutil.rmtree(target, ignore_errors=True)
            self.built_change = change  # not again until the store changes again
            raise RuntimeError(f"harmonise publish exited {built.returncode}: {built.stdout[-2000:]}"
                               f"{built.stderr[-2000:]}")
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
