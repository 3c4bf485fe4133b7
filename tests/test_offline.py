"""Proof that the embedded defaults need no network: the content index is built and searched in
a process that has no network at all (a fresh network namespace), and a Chroma server started
here serves the same index over HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent.content.assets import load_library
from agent.content.embeddings import WordLlamaEmbedding
from agent.content.index import chroma_client, content_collection, sync_index
from agent.playbook import load_playbook
from agent.settings import DEFAULT_PLAYBOOK
from agent.tools.content import ContentNeed, LeadContext, retrieve

FIXTURES = Path(__file__).parent / "fixtures" / "content"
ROOT = Path(__file__).parent.parent


def _can_unshare() -> bool:
    return (
        bool(shutil.which("unshare"))
        and subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False).returncode
        == 0
    )


@pytest.mark.skipif(
    not _can_unshare(),
    reason="needs `unshare -n` (root or user namespaces) to run a process without any network",
)
def test_index_and_search_with_the_network_unreachable(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NURTURE_DATA_DIR": str(tmp_path),
        "NURTURE_CONTENT_DIR": str(FIXTURES),
        "HF_HUB_OFFLINE": "0",
        "COLUMNS": "200",
    }
    nurture = [sys.executable, "-c", "from cli import main; main()"]
    probe = subprocess.run(
        [
            "unshare",
            "-n",
            sys.executable,
            "-c",
            "import socket; socket.create_connection(('1.1.1.1', 443), timeout=2)",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert probe.returncode != 0, "the namespace should have no network"
    index = subprocess.run(
        ["unshare", "-n", *nurture, "index"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert index.returncode == 0, index.stderr
    assert "7 added" in index.stdout
    search = subprocess.run(
        [
            "unshare",
            "-n",
            *nurture,
            "content",
            "search",
            "route optimisation",
            "--stage",
            "consideration",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert search.returncode == 0, search.stderr
    assert "cs-northwind" in search.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    binary = Path(sys.executable).with_name("chroma")
    if not binary.exists():
        pytest.skip("the chroma command is not installed next to this Python")
    port = _free_port()
    server = subprocess.Popen(
        [
            str(binary),
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "chroma server did not start in 30 s"
            assert server.poll() is None, "chroma server exited"
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_same_index_on_a_chroma_server(chroma_server: str, tmp_path: Path) -> None:
    client = chroma_client(url=chroma_server, path=tmp_path / "unused")
    embedding = WordLlamaEmbedding()
    collection = content_collection(client, embedding)
    report = sync_index(collection, load_library(FIXTURES).assets)
    assert len(report.added) == 7
    again = sync_index(
        content_collection(client, WordLlamaEmbedding()), load_library(FIXTURES).assets
    )
    assert again.unchanged == 7 and again.chunks_embedded == 0
    result = retrieve(
        collection,
        ContentNeed(stage="decision", kinds=["faq"]),
        LeadContext(industry="logistics"),
        load_playbook(DEFAULT_PLAYBOOK),
    )
    assert [p.asset_id for p in result.picks] == ["faq-routes"]
    assert not (tmp_path / "unused").exists()


def test_an_unreachable_chroma_server_is_a_clear_error(tmp_path: Path) -> None:
    from agent.errors import NurtureError

    with pytest.raises(NurtureError, match="cannot reach the Chroma server at http://127.0.0.1:"):
        chroma_client(url=f"http://127.0.0.1:{_free_port()}", path=tmp_path)
