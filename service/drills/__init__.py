"""Fire drills: every alert proven end to end (fault or traffic, scrape, rule, `for`, routing, page, resolution).

catalogue.py says, for each alert and severity, what fires it and where it must page;
report.py renders the list of drills and the table of their results, as text or JSON.
"""
