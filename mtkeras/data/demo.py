"""The earlier home of the demo corpus, kept for old imports: see `mtkeras.demo.corpus`."""

from mtkeras.demo.corpus import DEMO_QUERIES, INTENTS, SENTIMENTS, SLOT_TYPES, generate_demo_corpus, main

__all__ = ["DEMO_QUERIES", "INTENTS", "SENTIMENTS", "SLOT_TYPES", "generate_demo_corpus", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
