"""`nurture serve`: the API and the approval inbox on the configured storage."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from agent.settings import Settings
from cli.common import console, settings

HostOption = Annotated[str, typer.Option(envvar="NURTURE_HOST", help="Interface to listen on.")]
PortOption = Annotated[
    int, typer.Option(envvar="NURTURE_PORT", min=1, max=65535, help="Port to listen on.")
]


NoWorkerOption = Annotated[
    bool,
    typer.Option(
        "--no-worker",
        help="PostgreSQL: serve only; `nurture worker` processes run the jobs.",
    ),
]


def serve(
    host: HostOption = "127.0.0.1", port: PortOption = 8000, no_worker: NoWorkerOption = False
) -> None:
    """Serve the JSON API (/v1, docs at /docs) and the inbox pages; on PostgreSQL also a job
    worker, unless --no-worker."""
    run_server(host, port, worker=not no_worker)


def run_server(host: str, port: int, *, worker: bool = True) -> None:
    import uvicorn

    from api.main import create_app

    console.print(
        f"serving on [bold]http://{host}:{port}[/]  ·  inbox /inbox  ·  API docs /docs  "
        "·  Ctrl-C stops",
        highlight=False,
    )
    config = settings()
    uvicorn.run(
        create_app(config, worker=worker),
        host=host,
        port=port,
        log_level="warning",
        **uvicorn_options(config),
    )


def uvicorn_options(config: Settings) -> dict[str, Any]:
    """Whom to believe about the client's address. uvicorn by default trusts X-Forwarded-For
    from 127.0.0.1, so any local process (or a proxy passing the header through) could pick
    the address the failed-key limit counts; only proxies the operator names are trusted."""
    if not config.forwarded_allow_ips:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": config.forwarded_allow_ips}
