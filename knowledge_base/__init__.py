"""Knowledge base: articles, synonyms, Chinese-aware search (no Flask)."""
