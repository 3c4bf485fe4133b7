"""Tools the agent uses: the lead's timeline, content retrieval, sending, CRM hand-off."""
