"""The offline template drafter: writes a stage- and kind-fit email from templates in `prompts/`,
the lead's timeline and the asset's own summary. Needs no model and no network.

What it will say, and why (issue #16):
- the subject is written for the asset's kind and topic, within the playbook's limit (never a
  cut or pasted title);
- the hook states what the lead did, when, and on what topic, only as the timeline has it, and
  names a topic only when the cited asset covers it;
- "a team like yours" only for a case study whose customer shares the lead's industry or persona;
- openings vary per lead, chosen by a stable hash of the lead id, so re-running gives the same
  draft (baselines and redraft checks stay stable);
- first person only when a person signs (`sender_name`);
- nothing a lead typed goes in unless `untrusted.usable` passes it;
- `lead_facts_used` lists only the facts the email says.
`subject_style` and `opening` are parameters so an experiment can vary them without a rewrite."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml

from agent.drafting.feedback import Changes, read_feedback
from agent.drafting.models import CitedAsset, DraftRequest, DraftResult, EmailDraft, LeadActivity
from agent.drafting.untrusted import usable
from agent.settings import PROJECT_ROOT, Settings

PROMPTS = PROJECT_ROOT / "prompts"
SubjectStyle = Literal["topic", "question"]
Opening = Literal["varied", "first"]

# How a hook says what the lead did (the topic is added as " on <topic>" when it is said).
_DID = {
    "whitepaper_download": "downloaded our white paper",
    "webinar_registered": "signed up for our webinar",
    "webinar_attended": "joined our webinar",
    "case_study_view": "read a case study",
    "blog_view": "read our blog post",
    "email_click": "clicked through one of our emails",
    "comparison_page_view": "compared options on our site",
    "roi_calculator_used": "tried our ROI calculator",
    "dsr_view": "opened the documents we shared",
    "email_reply": "wrote back to us",
}
_TOPICLESS = {"comparison_page_view", "roi_calculator_used", "dsr_view", "email_reply"}


def _when(days: int) -> str:
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 7:
        return "this week"
    if days < 14:
        return "last week"
    if days < 35:
        return "a few weeks ago"
    return "a while ago"


@dataclass
class _Parts:
    """The pieces of one email, before rendering: feedback edits these."""

    greeting: str
    hook: str
    introduction: str
    summary: str
    peer_line: str
    call_to_action: str
    offer: str
    sign_off: str
    headline: str = ""
    """The asset's title as a sentence: said instead of the summary when there is none."""
    mention: str = ""
    facts: list[str] = field(default_factory=list)


class TemplateDrafter:
    name = "template"

    def __init__(
        self,
        folder: Path = PROMPTS,
        sender: str = "The Routewise team",
        *,
        sender_name: str | None = None,
        sender_title: str | None = None,
        subject_style: SubjectStyle = "topic",
        opening: Opening = "varied",
    ) -> None:
        """`sender` signs when no person does; `sender_name` (and `sender_title`) make a person
        the signer, and only then does the email speak in the first person. `subject_style`
        picks a set of subjects from the template config; `opening` "varied" chooses a hook per
        lead, "first" always the first variant."""
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
        self.sender_name = sender_name
        self.sender_title = sender_title
        self.subject_style: SubjectStyle = subject_style
        self.opening: Opening = opening

    # --- the draft -----------------------------------------------------------------------------
    def draft(self, request: DraftRequest) -> DraftResult:
        notes: list[str] = []
        changes = read_feedback(request.feedback) if request.feedback else Changes()
        asset = self._asset(request, changes)
        parts = self._parts(request, asset)
        changes.apply(parts)
        if changes.drop_summary_fully:
            parts.headline = ""
        if request.violations:  # a revision: say less, the likeliest offender is the summary
            parts.summary = _first_sentence(parts.summary)
        body = self._render(request, asset, parts)
        if len(body.split()) > request.body_max_words:
            parts.summary, parts.peer_line, parts.offer = _first_sentence(parts.summary), "", ""
            body = self._render(request, asset, parts)
        draft = EmailDraft(
            subject=self._subject(request, asset),
            body=body,
            cited_asset_ids=[asset.asset_id],
            lead_facts_used=[f for f in dict.fromkeys(parts.facts) if f in request.lead_facts],
        )
        if request.feedback:
            notes += changes.notes()
            if request.previous and _same(draft, request.previous) and not changes.cannot:
                notes.append(
                    f"the template drafter cannot apply this: '{request.feedback}' changes "
                    "nothing it can change in this draft; set NURTURE_LLM_BASE_URL to have a "
                    "model apply it"
                )
        if request.language and not request.language.casefold().startswith("en"):
            notes.append(self.config["english_note"].format(language=request.language))
        return DraftResult(draft=draft, drafter=self.name, prompt_version=self.version, notes=notes)

    def _asset(self, request: DraftRequest, changes: Changes) -> CitedAsset:
        forbidden = _forbidden(request)
        clean = [a for a in request.assets if not _mentions(forbidden, f"{a.title} {a.summary}")]
        ranked = clean or list(request.assets)
        if changes.other_asset and request.previous:
            others = [a for a in ranked if a.asset_id not in request.previous.cited_asset_ids]
            if others:
                return others[0]
            changes.refuse("another asset: no other asset fits this lead's stage")
        return ranked[0]

    def _parts(self, request: DraftRequest, asset: CitedAsset) -> _Parts:
        facts: list[str] = []
        topic = _topic(request, asset)
        hook = self._hook(request, asset, topic, facts)
        summary = _after_colon(asset.summary)
        if _mentions(_forbidden(request), summary):
            summary = ""
        person = bool(self.sender_name)
        offers = self.config["offers"]
        offer = ""
        if request.stage in self.config["offer_stages"]:
            offer = offers["person" if person else "team"]
        ctas = self.config["calls_to_action"]
        cta = ctas.get(asset.kind) or ctas["default"][request.stage]
        return _Parts(
            greeting=f"Hi {request.first_name}," if request.first_name else "Hello,",
            hook=hook,
            introduction=self.config["introductions"].get(asset.kind, "Here it is:"),
            summary=summary,
            peer_line=self.config["peer_line"] if _peer(request, asset) else "",
            call_to_action=cta,
            offer=offer,
            sign_off=self.config["sign_off"],
            headline=asset.title if asset.title.endswith((".", "?", "!")) else f"{asset.title}.",
            facts=facts,
        )

    def _hook(self, request: DraftRequest, asset: CitedAsset, topic: str, facts: list[str]) -> str:
        hooks = self.config["hooks"][
            request.action if request.action == "re_engage" else "send_email"
        ]
        activity = _evidence(request)
        company = usable(request.company)
        for_company = f" for the team at {company}" if company else ""
        if activity is None:
            if company:
                facts.append(f"works at {request.company}")
            return self._choose(request, hooks["no_activity"]).format(
                topic=topic, for_company=for_company
            )
        if activity.fact:
            facts.append(activity.fact)
        did = _DID[activity.signal]
        covered = activity.topic and _covers(asset, activity.topic)
        if covered and activity.signal not in _TOPICLESS:
            variants, did = hooks["with_topic"], f"{did} on {activity.topic}"
        else:
            variants = hooks["without_topic"]
        return self._choose(request, variants).format(
            activity=did, when=_when(activity.days_ago), topic=topic, for_company=for_company
        )

    def _choose(self, request: DraftRequest, variants: list[str]) -> str:
        opening = request.style.get("opening", self.opening)
        if opening == "first" or len(variants) == 1:
            return variants[0]
        digest = hashlib.sha256(f"{request.lead_id}|{request.action}".encode()).digest()
        return variants[int.from_bytes(digest[:4], "big") % len(variants)]

    def _subject(self, request: DraftRequest, asset: CitedAsset) -> str:
        topic = _topic(request, asset)
        style = request.style.get("subject_style", self.subject_style)
        patterns = self.config["subjects"][style].get(asset.kind, ["On {topic}"])
        for pattern in patterns:
            subject = str(pattern).format(topic=topic, Topic=topic[:1].upper() + topic[1:])
            if len(subject) <= request.subject_max_chars:
                return subject
        return "Something for you"  # no topic fits the limit: a plain subject, never a cut one

    def _signature(self) -> str:
        if self.sender_name:
            title = f"\n{self.sender_title}" if self.sender_title else ""
            return f"{self.sender_name}{title}"
        return self.sender

    def _render(self, request: DraftRequest, asset: CitedAsset, parts: _Parts) -> str:
        text = self.template.render(
            greeting=parts.greeting,
            hook=parts.hook,
            mention=parts.mention,
            introduction=parts.introduction,
            summary=parts.summary,
            headline=parts.headline,
            peer_line=parts.peer_line,
            asset=asset,
            call_to_action=parts.call_to_action,
            offer=parts.offer,
            sign_off=parts.sign_off,
            signature=self._signature(),
            unsubscribe_line=request.unsubscribe_line,
        )
        return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def template_drafter(settings: Settings) -> TemplateDrafter:
    """The template drafter signed as the settings say (NURTURE_SENDER_NAME / _TITLE)."""
    return TemplateDrafter(
        sender=f"The {settings.from_name} team",
        sender_name=settings.sender_name,
        sender_title=settings.sender_title,
    )


def _evidence(request: DraftRequest) -> LeadActivity | None:
    """The activity the hook speaks of: the newest on the decision's topic, else the newest."""
    on_topic = [a for a in request.activities if request.topic and a.topic == request.topic]
    found = on_topic or request.activities
    return found[0] if found else None


def _covers(asset: CitedAsset, topic: str) -> bool:
    return topic.casefold() in {t.casefold() for t in asset.topics}


def _topic(request: DraftRequest, asset: CitedAsset) -> str:
    """The topic an email may name: the lead's, when the asset covers it, else the asset's."""
    if request.topic and _covers(asset, request.topic):
        return request.topic
    if asset.topics:
        return asset.topics[0]
    return asset.title.split(":")[0].lower()


def _peer(request: DraftRequest, asset: CitedAsset) -> bool:
    if asset.kind != "case_study":
        return False
    # the lead's industry decides when it is known (a grocer is not "like" a parts maker
    # because both have operations managers); the persona only when it is not
    industry = (request.industry or "").casefold()
    if industry:
        return industry in {i.casefold() for i in asset.industries}
    return bool(request.persona and request.persona in asset.personas)


def _after_colon(summary: str) -> str:
    """A summary that opens with an article continues the introduction's sentence after its
    colon ("...into steps: a practical checklist..."), so it starts in lower case."""
    first = summary.split(" ", 1)[0]
    return summary[:1].lower() + summary[1:] if first in ("A", "An", "The") else summary


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0] if text else text


def _same(draft: EmailDraft, previous: EmailDraft) -> bool:
    return (draft.subject, draft.body) == (previous.subject, previous.body)


def _forbidden(request: DraftRequest) -> list[re.Pattern[str]]:
    return [re.compile(rf"\b{re.escape(t)}\b", re.IGNORECASE) for t in request.forbidden_terms]


def _mentions(forbidden: list[re.Pattern[str]], text: str) -> bool:
    return any(p.search(text) for p in forbidden)
