"""The network's conventions as FHIR conformance resources, and what is built on them.

- ``definitions``: the StructureDefinitions (profiles and extensions), generated from the same
  Python description of the conventions the loader's rules read (``service.conventions``,
  ``service.terminology``, ``service.units``), each element and invariant naming its rule id.
- ``check``: does a resource conform to a profile, read from the StructureDefinition itself.
- ``catalogue``: every conformance resource of this software version, for the API (read, search).
- ``package``: the NPM-format FHIR package (``harmonise package``, ``$package``).

Callers import these modules (``check`` is private to the package); importing the package itself
imports none of them, so ``harmonise --help`` stays quick.
"""

__all__ = ["catalogue", "definitions", "package"]
