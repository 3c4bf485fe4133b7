"""A contact's role in its account's buying committee, read from the job title. A small,
documented mapping (README "Accounts"), checked in this order, the first that matches wins:

- decision_maker: chief, C-level (CEO, CFO, COO, CTO, CIO, CMO, CISO), president, founder,
  owner, VP / vice president, director, head of
- influencer: manager, lead, principal, architect, senior
- user: any other title
- unknown: no title
"""

from __future__ import annotations

import re
from typing import Literal

from agent.timeline import Lead

Role = Literal["decision_maker", "influencer", "user", "unknown"]

TITLE_ATTRIBUTE = "title"
_ROLES: tuple[tuple[Role, re.Pattern[str]], ...] = (
    (
        "decision_maker",
        re.compile(
            r"\b(chief|c[eotfmi]o|ciso|president|founder|owner|vp|svp|evp|vice president"
            r"|director|head of|head)\b",
            re.IGNORECASE,
        ),
    ),
    ("influencer", re.compile(r"\b(manager|lead|principal|architect|senior)\b", re.IGNORECASE)),
)


def role_of(lead: Lead) -> Role:
    title = lead.attributes.get(TITLE_ATTRIBUTE)
    if not isinstance(title, str) or not title.strip():
        return "unknown"
    for role, pattern in _ROLES:
        if pattern.search(title):
            return role
    return "user"
