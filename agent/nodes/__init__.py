"""The graph's nodes, one small function each (wired in agent/graph.py)."""
