"""Reading lead and event files: the project's own JSONL/CSV format (`records`), and any
delimited export through a mapping (`mapping`, `mapped`, with presets for HubSpot, Salesforce
and GA4 in `presets/`)."""

from agent.importing.records import Kind, Line, count_lines, read_lines

__all__ = ["Kind", "Line", "count_lines", "read_lines"]
