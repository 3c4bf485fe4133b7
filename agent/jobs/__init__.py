"""Background work as jobs: their definitions (drafts.py, decisions.py), the interface the API
and the CLI enqueue through (executor.py), and its implementations (local.py: threads in the
process, for the embedded SQLite default). Nothing here imports the web layer, so a worker
needs no web code."""
