"""Segment Tracking API messages (also what RudderStack and Jitsu send): read, resolved to
our leads, stored as events, kept while anonymous, or recorded as rejections."""
