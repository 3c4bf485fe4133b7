"""The server-rendered inbox: view models, the SVG chart, Markdown, and page rendering. The routes
that use them live in api/routes/pages.py."""
