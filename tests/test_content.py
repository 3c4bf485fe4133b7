"""The content library, its Chroma index, and stage-fit retrieval."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.content.assets import load_library
from agent.content.embeddings import WordLlamaEmbedding
from agent.content.index import chroma_client, content_collection, sync_index
from agent.playbook import STAGES, Playbook, load_playbook
from agent.playbook.models import ContentKind
from agent.settings import DEFAULT_CONTENT, DEFAULT_PLAYBOOK
from agent.tools.content import ContentNeed, LeadContext, allowed_stages, persona_of, retrieve

FIXTURES = Path(__file__).parent / "fixtures" / "content"
PLAYBOOK = load_playbook(DEFAULT_PLAYBOOK)


@pytest.fixture(scope="module")
def library_collection(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The shipped library, indexed once for this module."""
    client = chroma_client(url=None, path=tmp_path_factory.mktemp("chroma"))
    collection = content_collection(client, WordLlamaEmbedding())
    sync_index(collection, load_library(DEFAULT_CONTENT).assets)
    return collection


def fixture_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(FIXTURES, folder)
    return folder


# --- the library ---------------------------------------------------------------------------------


def test_a_malformed_asset_is_reported_by_file_and_field_and_the_rest_load() -> None:
    library = load_library(FIXTURES)
    assert [str(p).split(": Input")[0] for p in library.problems] == ["broken-kind.md: kind"]
    assert len(library.assets) == 7


def test_duplicate_ids_and_urls_are_reported(tmp_path: Path) -> None:
    folder = fixture_copy(tmp_path)
    text = (folder / "blog-routes.md").read_text()
    (folder / "copy.md").write_text(text)
    (folder / "same-url.md").write_text(text.replace("id: blog-routes", "id: blog-routes-2"))
    problems = [str(p) for p in load_library(folder).problems]
    assert "copy.md: id: 'blog-routes' is also used by blog-routes.md" in problems
    assert any(p.startswith("same-url.md: url: ") and "blog-routes.md" in p for p in problems)


def test_the_shipped_library_is_valid_and_covers_the_playbook() -> None:
    library = load_library(DEFAULT_CONTENT)
    assert library.problems == []
    assets = library.assets
    assert len(assets) >= 40
    kinds = {a.meta.kind for a in assets}
    wanted = {k for ks in PLAYBOOK.content.stage_kinds.values() for k in ks}
    assert wanted | set(PLAYBOOK.content.re_engage_kinds) <= kinds
    for stage in STAGES:
        stage_kinds = {a.meta.kind for a in assets if stage in a.meta.stages}
        assert set(PLAYBOOK.content.stage_kinds[stage]) <= stage_kinds, stage
    assert len({t for a in assets for t in a.meta.topics}) >= 5
    assert len({i for a in assets for i in a.meta.industries}) >= 4


NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@pytest.mark.parametrize("asset", load_library(DEFAULT_CONTENT).assets, ids=lambda a: a.id)
def test_every_number_in_an_asset_is_in_its_facts(asset) -> None:  # noqa: ANN001
    """A draft may only quote facts; an asset whose body says more than its facts would let a
    grounded draft still miss a claim."""
    facts = " ".join(asset.meta.facts)
    missing = {n for n in NUMBER.findall(asset.body) if n not in facts}
    assert not missing, f"numbers in the body but not in facts: {sorted(missing)}"


def test_early_stage_assets_never_talk_price() -> None:
    forbidden = re.compile(r"\b(price|prices|pricing|discounts?|quotes?)\b", re.IGNORECASE)
    for asset in load_library(DEFAULT_CONTENT).assets:
        if set(asset.meta.stages) <= {"awareness", "interest"}:
            assert not forbidden.search(asset.body + asset.meta.summary), asset.id


# --- indexing -----------------------------------------------------------------------------------


def test_reindex_embeds_only_what_changed(tmp_path: Path) -> None:
    folder = fixture_copy(tmp_path)
    embedding = WordLlamaEmbedding()
    collection = content_collection(chroma_client(url=None, path=tmp_path / "db"), embedding)
    first = sync_index(collection, load_library(folder).assets)
    assert len(first.added) == 7 and first.chunks_embedded == embedding.texts_embedded > 0

    before = embedding.texts_embedded
    again = sync_index(collection, load_library(folder).assets)
    assert (again.added, again.updated, again.removed, again.unchanged) == ([], [], [], 7)
    assert embedding.texts_embedded == before  # nothing was embedded

    page = folder / "wp-routes.md"
    page.write_text(page.read_text().replace("Practical steps", "Three practical steps"))
    (folder / "faq-routes.md").unlink()
    changed = sync_index(collection, load_library(folder).assets)
    assert (changed.updated, changed.removed, changed.unchanged) == (
        ["wp-routes"],
        ["faq-routes"],
        5,
    )
    assert embedding.texts_embedded - before == changed.chunks_embedded == 3
    metadatas = collection.get(include=["metadatas"])["metadatas"]
    assert metadatas is not None
    ids = {m["asset_id"] for m in metadatas}
    assert "faq-routes" not in ids


def test_a_new_process_reopens_the_index_with_its_embedding(tmp_path: Path) -> None:
    path = tmp_path / "db"
    sync_index(
        content_collection(chroma_client(url=None, path=path), WordLlamaEmbedding()),
        load_library(FIXTURES).assets,
    )
    reopened = chroma_client(url=None, path=path).get_collection("content_library")
    assert reopened.configuration_json["embedding_function"]["name"] == "nurture-wordllama"
    found = reopened.query(query_texts=["route planning"], n_results=1)
    assert found["ids"][0]


# --- retrieval ----------------------------------------------------------------------------------


def test_retrieval_prefers_topic_industry_and_says_why(library_collection) -> None:  # noqa: ANN001
    need = ContentNeed(stage="consideration", kinds=["case_study"], topic="route optimisation")
    result = retrieve(
        library_collection, need, LeadContext(industry="logistics", persona="operations"), PLAYBOOK
    )
    top = result.picks[0]
    assert top.kind == "case_study"
    assert "route optimisation" in " ".join(top.why)
    assert any(w.startswith("fits the consideration") for w in top.why)
    assert top.chunk


def test_excluded_assets_never_come_back_by_id_or_path(library_collection) -> None:  # noqa: ANN001
    need = ContentNeed(stage="consideration", kinds=["case_study"], topic="route optimisation")
    first = retrieve(library_collection, need, LeadContext(), PLAYBOOK).picks
    exclude = [first[0].asset_id, first[1].url.replace("https://routewise.example", "")]
    again = retrieve(
        library_collection,
        need.model_copy(update={"exclude_assets": exclude}),
        LeadContext(),
        PLAYBOOK,
    ).picks
    assert {p.asset_id for p in again}.isdisjoint({first[0].asset_id, first[1].asset_id})


def test_when_nothing_fits_it_names_an_allowed_alternative(library_collection) -> None:  # noqa: ANN001
    everything = [
        m["asset_id"]
        for m in library_collection.get(where={"kind": "faq"}, include=["metadatas"])["metadatas"]
    ]
    need = ContentNeed(stage="decision", kinds=["faq"], exclude_assets=everything)
    result = retrieve(library_collection, need, LeadContext(), PLAYBOOK)
    assert result.note and result.note.startswith("no faq fits the decision stage")
    assert "nearest allowed alternative" in result.note
    assert result.picks and all(p.kind != "faq" for p in result.picks)
    assert all(set(p.stages) & {"decision", "consideration"} for p in result.picks)


def test_nothing_left_at_all_is_said_plainly(library_collection) -> None:  # noqa: ANN001
    awareness = [
        m["asset_id"]
        for m in library_collection.get(where={"stage": "awareness"}, include=["metadatas"])[
            "metadatas"
        ]
    ]
    need = ContentNeed(stage="awareness", kinds=["blog"], exclude_assets=awareness)
    result = retrieve(library_collection, need, LeadContext(), PLAYBOOK)
    assert result.picks == []
    assert result.note == (
        "nothing in the library fits the awareness stage that this lead has not already had"
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stage=st.sampled_from(STAGES), data=st.data())
def test_a_wrong_stage_asset_is_never_returned(library_collection, stage, data) -> None:  # noqa: ANN001
    kinds = data.draw(
        st.lists(
            st.sampled_from(get_args(ContentKind)),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    topic = data.draw(st.sampled_from([None, "route optimisation", "compliance", "billing"]))
    result = retrieve(
        library_collection,
        ContentNeed(stage=stage, kinds=kinds, topic=topic),
        LeadContext(),
        PLAYBOOK,
        k=10,
    )
    allowed = set(allowed_stages(stage, kinds, PLAYBOOK))
    assert allowed <= set(STAGES[: STAGES.index(stage) + 2])
    for pick in result.picks:
        assert set(pick.stages) & allowed, (pick.asset_id, pick.stages, allowed)
        if stage in ("awareness", "interest"):
            assert pick.kind != "pricing"


def test_allowed_stages_reach_one_step_ahead_only_for_requested_kinds(playbook: Playbook) -> None:
    assert allowed_stages("interest", ["case_study"], playbook) == ["interest", "consideration"]
    assert allowed_stages("awareness", ["faq"], playbook) == ["awareness"]
    assert allowed_stages("decision", ["comparison", "security"], playbook) == [
        "consideration",
        "decision",
    ]


@pytest.mark.parametrize(
    ("title", "persona"),
    [
        ("CFO", "finance"),
        ("VP Engineering", "it"),
        ("Founder & CEO", "executive"),
        ("Fleet Manager", "logistics-manager"),
        ("Director of Operations", "operations"),
        ("Designer", None),
        (None, None),
    ],
)
def test_persona_from_title(title: str | None, persona: str | None) -> None:
    assert persona_of(title) == persona


# --- the retrieval eval gate ---------------------------------------------------------------------


def test_retrieval_eval_meets_its_targets(library_collection) -> None:  # noqa: ANN001
    from evals.retrieval.run import load_cases, run_eval

    result = run_eval(load_cases(), PLAYBOOK, library_collection)
    assert len(result.cases) >= 30
    assert result.stage_violations == 0
    assert result.recall_at_3 >= 0.8


def test_the_eval_counts_a_wrong_stage_pick(library_collection, monkeypatch) -> None:  # noqa: ANN001
    from agent.tools.content import Pick, Retrieval
    from evals.retrieval import run as eval_run

    wrong = Pick(
        asset_id="price-how-pricing-works",
        title="t",
        kind="pricing",
        url="u",
        stages=["decision"],
        score=1.0,
        section="s",
        chunk="c",
        why=[],
    )
    monkeypatch.setattr(
        eval_run, "retrieve", lambda *a, **k: Retrieval(picks=[wrong], allowed_stages=["awareness"])
    )
    cases = [c for c in eval_run.load_cases() if c.need.stage == "awareness"][:2]
    result = eval_run.run_eval(cases, PLAYBOOK, library_collection)
    assert result.stage_violations == 2
    assert result.recall_at_3 == 0
