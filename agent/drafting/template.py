"""The offline template drafter: writes a stage- and kind-fit email from templates in `prompts/`,
the lead's real facts and the asset's own summary and facts. Needs no model and no network."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import yaml

from agent.drafting.models import CitedAsset, DraftRequest, DraftResult, EmailDraft
from agent.settings import PROJECT_ROOT

PROMPTS = PROJECT_ROOT / "prompts"


class TemplateDrafter:
    name = "template"

    def __init__(self, folder: Path = PROMPTS, sender: str = "The Routewise team") -> None:
        self.config: dict[str, Any] = yaml.safe_load((folder / "email_template.yaml").read_text())
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
            autoescape=False,  # plain-text email, not HTML
        )
        self.template = environment.get_template("email_template.j2")
        self.version = str(self.config["version"])
        self.sender = sender

    def draft(self, request: DraftRequest) -> DraftResult:
        forbidden = _forbidden(request)
        # The best-ranked asset whose own title and summary the stage allows; otherwise the
        # best one, introduced by its title alone.
        clean = [a for a in request.assets if not _mentions(forbidden, f"{a.title} {a.summary}")]
        asset = clean[0] if clean else request.assets[0]
        summary = asset.summary if clean else ""
        facts = [f for f in asset.facts if not _mentions(forbidden, f)]
        # A revision (violations fed back) drops the asset fact, the likeliest offender.
        fact = facts[0] if facts and not request.violations else None
        body = self._body(request, asset, summary, fact)
        if len(body.split()) > request.body_max_words and fact:
            body = self._body(request, asset, summary, None)
        draft = EmailDraft(
            subject=self._subject(request, asset),
            body=body,
            cited_asset_ids=[asset.asset_id],
            lead_facts_used=[f for f in request.lead_facts[:2]],
        )
        return DraftResult(draft=draft, drafter=self.name, prompt_version=self.version)

    def _subject(self, request: DraftRequest, asset: CitedAsset) -> str:
        pattern = self.config["subjects"].get(asset.kind, "{title}")
        subject = pattern.format(company=request.company or "your team", title=asset.title)
        if len(subject) > request.subject_max_chars:
            subject = asset.title
        return _shorten(subject, request.subject_max_chars)

    def _body(
        self, request: DraftRequest, asset: CitedAsset, summary: str, fact: str | None
    ) -> str:
        stage = request.stage
        # Without a topic of the lead's own, claiming "you have been reading about X" would be
        # false: those openers speak to the company about the asset's topic instead.
        openers = self.config["openers" if request.topic else "openers_without_topic"]
        opener = openers[request.action][stage].format(
            topic=request.topic or _first_topic(asset),
            activity=_activity(request),
            company=request.company or "your team",
        )
        text = self.template.render(
            first_name=request.first_name or "there",
            opener=opener,
            asset=asset,
            # the title as a sentence of its own: one long title-plus-summary sentence read badly
            headline=asset.title if asset.title.endswith((".", "?", "!")) else f"{asset.title}.",
            summary=summary,
            fact=fact,
            call_to_action=self.config["calls_to_action"][stage],
            sign_off=self.config["sign_off"],
            sender=self.sender,
            unsubscribe_line=request.unsubscribe_line,
        )
        return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _forbidden(request: DraftRequest) -> list[re.Pattern[str]]:
    return [re.compile(rf"\b{re.escape(t)}\b", re.IGNORECASE) for t in request.forbidden_terms]


def _mentions(forbidden: list[re.Pattern[str]], text: str) -> bool:
    return any(p.search(text) for p in forbidden)


def _activity(request: DraftRequest) -> str:
    forbidden = _forbidden(request)
    for fact in request.lead_facts:
        if fact.startswith("recently ") and not _mentions(forbidden, fact):
            return fact.removeprefix("recently ")
    return f"looked into {request.topic or 'this'}"


def _first_topic(asset: CitedAsset) -> str:
    return asset.title.split(":")[0].lower()


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",:;-") + "…"
