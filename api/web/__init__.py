"""The server-rendered pages: view models, Markdown, and page rendering (their charts come from
agent/charts.py). The routes that use them live in api/routes/pages.py."""
