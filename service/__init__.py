"""Harmonise: clinical pathway and guideline harmonisation for NHS hospital networks.

The stages, each in its own module, in the order data flows through them:

- ``fhirformat``: bytes (FHIR JSON or XML) to FHIR JSON dicts and back, safely.
- ``loader``: files, folders and Bundles to validated R4B PlanDefinitions, with problems.
- ``rules``: the Harmonise conventions (docs/profile.md) checked on a PlanDefinition.
- ``normalise``: a PlanDefinition to the normalised ``pathway.Pathway`` model.
- ``security``: tokens, scopes and who may change what (the API applies it in ``api.auth``).
- ``cli``: the ``harmonise`` command.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
