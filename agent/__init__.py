"""nurture-agent: lead-nurturing decisions driven by a human-owned playbook."""

__version__ = "0.1.0"
