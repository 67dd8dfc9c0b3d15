"""The variation engine: align trusts' pathways, measure and classify how they differ.

Public interface: ``group_by_topic`` and ``compare_topics`` (``network``), ``compare_topic``
(``compare``), ``propose`` (``proposal``) and the report models (``report``).
"""
