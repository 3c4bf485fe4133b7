"""The content library: assets on disk, their chunks, embeddings, and the Chroma index."""
