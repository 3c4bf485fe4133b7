"""The API's routes, one module per resource."""

import api.ids  # noqa: F401 - registers the {name:id} converter before any route is built
