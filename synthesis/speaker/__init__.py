"""Speaker analysis without torch: embeddings (resemblyzer's encoder in numpy) and WORLD timbre."""
