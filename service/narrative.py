"""A guideline's narrative for clinicians, carried in the guideline resource itself.

The page a clinician reads (who it is for, what happens and when, why, when to step off the
pathway) is Markdown. It travels in the FHIR guideline two ways, so that what a clinical system
downloads says what the site says:

- exactly, as a ``relatedArtifact`` of type ``documentation`` whose ``document`` is an attachment
  of ``text/markdown`` (CRMI's way of attaching documentation to an artifact): the site is made
  from this, and ``export`` writes it back as the ``.md`` file, byte for byte;
- for any FHIR viewer, as the resource's narrative (``text``, status ``additional``), XHTML made
  from the Markdown.

The ``.md`` file beside a guideline's file is its authoring form: ``harmonise load`` puts it into
the resource (``with_narrative``).
"""

import base64
import binascii
import copy
from typing import Final

import markdown
from lxml import etree

from .fhirformat import XHTML_NS, JsonDict

MEDIA_TYPE: Final = "text/markdown"
LABEL: Final = "narrative"
TITLE: Final = "For clinicians: who it is for, what happens and when, why, and when to step off the pathway"


def _is_narrative(artifact: object) -> bool:
    if not isinstance(artifact, dict) or artifact.get("type") != "documentation":
        return False
    document = artifact.get("document")
    return isinstance(document, dict) and str(document.get("contentType", "")).startswith(MEDIA_TYPE)


def read_narrative(resource: JsonDict) -> str | None:
    """The Markdown a resource carries, or None."""
    for artifact in resource.get("relatedArtifact") or []:
        if _is_narrative(artifact) and isinstance(artifact["document"].get("data"), str):
            try:
                return base64.b64decode(artifact["document"]["data"], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
    return None


def xhtml(text: str) -> str:
    """The Markdown as a FHIR narrative ``div`` (XHTML, in its namespace), as the site renders it."""
    body = markdown.markdown(text, extensions=["admonition", "tables"], output_format="xhtml")
    div = f'<div xmlns="{XHTML_NS}">{body}</div>'
    etree.fromstring(div.encode("utf-8"))  # well-formed, or this is a bug to hear of at once
    return div


def with_narrative(resource: JsonDict, text: str) -> JsonDict:
    """A copy of ``resource`` carrying ``text`` as its narrative (replacing any it carried)."""
    result = copy.deepcopy(resource)
    artifact: JsonDict = {
        "type": "documentation", "label": LABEL, "display": TITLE,
        "document": {"contentType": f"{MEDIA_TYPE}; charset=utf-8", "title": TITLE,
                     "data": base64.b64encode(text.encode("utf-8")).decode("ascii")},
    }
    others = [a for a in result.get("relatedArtifact") or [] if not _is_narrative(a)]
    result["relatedArtifact"] = [*others, artifact]
    result["text"] = {"status": "additional", "div": xhtml(text)}
    return result
