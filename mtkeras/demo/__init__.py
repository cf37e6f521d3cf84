"""The demo: a synthetic multi-task corpus made on the spot, and the job behind `make demo`.

| module | what |
|---|---|
| `corpus` | `generate_demo_corpus`: assistant (intents, slots) and feedback (sentiment) sources |
| `assistant`, `feedback` | the slot values and paraphrase templates the corpus draws from |
| `job` | `run_demo`: generate, train through the run path of `demo.yaml`, export, serve, query |
| `demo.yaml` | the demo's training config (`configs/demo.yaml` links to it) |
"""

from mtkeras.demo.corpus import DEMO_QUERIES, INTENTS, SENTIMENTS, SLOT_TYPES, generate_demo_corpus
from mtkeras.demo.job import DEMO_CONFIG, SOURCES, demo_config, read_demo_split, run_demo, train_demo_model

__all__ = [
    "DEMO_CONFIG",
    "DEMO_QUERIES",
    "INTENTS",
    "SENTIMENTS",
    "SLOT_TYPES",
    "SOURCES",
    "demo_config",
    "generate_demo_corpus",
    "read_demo_split",
    "run_demo",
    "train_demo_model",
]
