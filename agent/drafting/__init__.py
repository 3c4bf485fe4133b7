"""Email drafting: the request a drafter gets, the draft it returns, and the drafters."""
