"""The `{name:id}` path converter: an id from a CRM, which may hold '/' (so Starlette's `str`
will not do) and, when a client sends junk, line breaks (which `path`'s `.*` does not match,
turning a 422 into a bare 404). The route gets the id; validation decides about it."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class IdConvertor(Convertor[str]):
    regex = r"[\s\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("id", IdConvertor())
