"""Fire drills: every alert proven end to end (fault or traffic, scrape, rule, `for`, routing, page, resolution).

catalogue.py says, for each alert and severity, what fires it and where it must page;
traffic.py the requests of the drills traffic alone fires; stack.py the private stack
each drill runs on; runner.py one drill from start to resolution; report.py the list
and the result table, as text or JSON; command.py `ai-diy drill`.
"""
