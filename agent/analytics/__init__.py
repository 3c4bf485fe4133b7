"""Analytics from the store: what the playbook and the people did, counted from the tables.
The same figures reach `nurture report`, GET /v1/analytics/summary and the /analytics page; each
one's definition is its Report field's description, and a test recounts every figure by raw SQL.

Every figure is a SQL aggregate, or (the medians, which need each value) a stream of one number
per answered draft: no table is read into memory whole."""

from agent.analytics.mail import MAIL_COLUMNS, MAIL_FIGURES, NO_ASSET
from agent.analytics.summary import DEFINITIONS, Figure, Report, report

__all__ = ["DEFINITIONS", "MAIL_COLUMNS", "MAIL_FIGURES", "NO_ASSET", "Figure", "Report", "report"]
