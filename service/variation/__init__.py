"""The variation engine: align trusts' pathways, measure and classify how they differ.

Public modules, which callers import:

- ``compare``: ``compare_topic``, the pipeline of named stages for one topic.
- ``network``: ``group_by_topic`` and ``compare_topics``, every topic of a network at once.
- ``proposal``: ``propose``, the network consensus as a draft guideline.
- ``report``: the report models (the JSON contract of ``harmonise compare``).
- ``dimension``: the one list of what a difference can be in (timing, presence, mode, ...).
- ``alignment``, ``reference``: the alignment of occurrences and the reference a trust is
  compared with; public for the tests that hold the fast path to its plain definition.

The stages (``align``, ``find``, ``classify``, ``word``, ``summarise``, ``score``) are private to
the package: ``compare`` runs them in order. Importing the package imports no module, so that
``harmonise --help`` stays quick.
"""

__all__ = ["alignment", "compare", "dimension", "network", "proposal", "reference", "report"]
