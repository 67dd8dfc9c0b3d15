"""Publish against plain MkDocs, site by site, in one process (run by ``benchmarks.run``).

``python -m benchmarks.sites AS_OF OUT NETWORK_FOLDER...``: for each synthetic network folder
(``nNNN/pathways`` + ``nNNN/guidelines``) it

1. times ``service.site.build.build_site`` with the repository's ``mkdocs.yml``: what
   ``harmonise publish`` runs after its argument checks (loading, comparing, generating every
   page, and MkDocs Material rendering them);
2. writes the Markdown that build generated, beside the hand-written pages of ``docs/``, into a
   plain docs folder (untimed);
3. times a plain ``mkdocs build`` of that folder: the same Markdown pages with the same theme,
   plugins and Markdown extensions, but no Harmonise hooks.

The two builds of each site alternate, so a slower moment of the machine falls on both. Prints
one JSON object: per site, the two times and the page counts.
"""

import json
import logging
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import yaml
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import Abort

from service.site import generate
from service.site.build import build_site
from service.site.events import BUILD
from service.site.settings import SiteSettings

REPOSITORY = Path(__file__).resolve().parents[1]
CONFIG = REPOSITORY / "mkdocs.yml"


def plain_config(docs: Path) -> Path:
    """The repository's MkDocs configuration without anything of Harmonise's own."""
    config = yaml.safe_load(CONFIG.read_text("utf-8"))
    for key in ("hooks", "nav", "extra_css", "extra_javascript", "validation"):
        config.pop(key, None)
    config.get("theme", {}).pop("custom_dir", None)
    config.get("extra", {}).pop("harmonise", None)
    config["docs_dir"] = str(docs)
    config["strict"] = False
    path = docs.parent / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    return path


def lenient_config(out: Path) -> Path:
    """The repository's configuration with strict mode off (and its paths made absolute)."""
    config = yaml.safe_load(CONFIG.read_text("utf-8"))
    config["docs_dir"] = str(REPOSITORY / config.get("docs_dir", "docs"))
    theme = config.get("theme", {})
    if "custom_dir" in theme:
        theme["custom_dir"] = str(REPOSITORY / theme["custom_dir"])
    config["hooks"] = [str(REPOSITORY / hook) for hook in config.get("hooks", [])]
    config["strict"] = False
    out.mkdir(parents=True, exist_ok=True)
    path = out / "mkdocs-lenient.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    return path


def _pages(site: Path) -> int:
    return sum(1 for _ in site.rglob("*.html"))


def main(as_of: date, out: Path, networks: list[Path]) -> dict:
    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    sites = []
    config_file, lenient = CONFIG, None
    for folder in networks:
        settings = SiteSettings(folder / "pathways", folder / "guidelines", as_of, root=folder)
        published = out / folder.name / "published"
        while True:
            started = time.perf_counter()
            try:
                content = build_site(settings, published, config_file)
            except Abort as exc:
                if lenient is not None:
                    raise
                # The repository's site does not build in strict mode (someone is changing it):
                # time the same build without strict, and say so.
                lenient, config_file = str(exc), lenient_config(out)
                continue
            publish_seconds = time.perf_counter() - started
            break
        pages = generate.pages(content if content is not None else BUILD.content)
        plain = out / folder.name / "plain"
        docs = plain / "docs"
        shutil.copytree(REPOSITORY / "docs", docs, ignore=shutil.ignore_patterns("schemas"))
        for name, markdown in pages.items():
            (docs / name).parent.mkdir(parents=True, exist_ok=True)
            (docs / name).write_text(markdown, "utf-8")
        config = load_config(str(plain_config(docs)), site_dir=str(plain / "site"))
        started = time.perf_counter()
        build(config)
        plain_seconds = time.perf_counter() - started
        sites.append({"network": folder.name, "publish_seconds": publish_seconds, "plain_seconds": plain_seconds,
                      "guideline_pages": sum(1 for name in pages if name.startswith("guidelines/")),
                      "published_pages": _pages(published), "plain_pages": _pages(plain / "site")})
        shutil.rmtree(out / folder.name)  # 67 sites of 8 MB each would fill the work folder
    return {"sites": sites, "lenient": lenient}


if __name__ == "__main__":
    print(json.dumps(main(date.fromisoformat(sys.argv[1]), Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])))
