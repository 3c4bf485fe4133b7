"""Segment messages into leads, events, pending anonymous events and rejections."""
