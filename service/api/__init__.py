"""The FHIR R4 REST API (FastAPI), mounted at ``/fhir``; the store does the storing.

- ``registry``: what is supported per resource type (interactions, operations, search
  parameters); every handler asks it first, and ``capability`` turns it into ``/metadata``.
- ``resources`` (read, vread, create, update, delete), ``search`` (search and history),
  ``operations`` (``$validate``) and ``transaction`` (``POST /fhir``): the routers.
- ``auth``: bearer tokens at the edge (401/403), the write permit and audit agent handed to the
  store, and the CapabilityStatement's security, all from ``service.security``.
- ``formats``, ``headers``, ``subsetting``, ``bundles``, ``responses``, ``outcomes``,
  ``validation``, ``conditional``, ``dependencies``: the HTTP edge they share.
"""

from .app import FHIR_PATH, create_app, create_fhir_app

__all__ = ["FHIR_PATH", "create_app", "create_fhir_app"]
