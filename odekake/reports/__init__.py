"""Usage reports: the monthly and fiscal-year tables city hall reads.

- :mod:`odekake.reports.counting` counts sessions and people from the record log;
- :mod:`odekake.reports.tallies` imports past aggregated tables;
- :mod:`odekake.reports.table` builds the report model (rows, summary, flags);
- :mod:`odekake.reports.pdf` and :mod:`odekake.reports.export` render it.
"""
