"""Early-warning monitoring: activity measures, SPC charts (Making Data Count) and signals.

- ``activity``: monthly activity (CSV rows, FHIR MeasureReports) and the series read from it;
- ``spc``: XmR charts, their variation and assurance (NHS England's Making Data Count rules);
- ``signals``: each topic's monitored series and the signals a network lead is shown.

Callers import these modules; importing the package itself imports none of them.
"""

__all__ = ["activity", "signals", "spc"]
