"""Statistics for the county: usage per branch, kind of machine and month, without names."""
