"""The HTTP service: the versioned API under /v1 and the approval inbox pages."""
