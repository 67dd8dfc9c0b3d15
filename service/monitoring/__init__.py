"""Early-warning monitoring: activity measures, SPC charts (Making Data Count) and signals."""
