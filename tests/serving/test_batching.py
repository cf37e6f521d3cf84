"""Server-side batching: concurrent clients merged into batches, each answered with its own rows."""

from helpers.served import MODEL, TEXTS, copy_version, hammer
from mtkeras import names
from mtkeras.serving import BatchingOptions, ModelServer


def test_eight_concurrent_clients_with_batching(exported_model, tmp_path, in_process):
    base = str(tmp_path / MODEL)
    copy_version(exported_model, base)
    batching = BatchingOptions(max_batch_size=16, batch_timeout_micros=5000, num_batch_threads=2)
    with ModelServer(MODEL, base, port=0, batching=batching) as running:
        (servable,) = running.manager.servables()
        batches_before, batched_before = servable.batch_counts()[names.SERVING_SIGNATURE]  # warmup
        errors, answers = hammer(f"127.0.0.1:{running.port}", clients=8, requests_each=200)
        batches, batched = servable.batch_counts()[names.SERVING_SIGNATURE]
    assert errors == []
    assert len(answers) == 1600
    # Requests were merged, and a merged batch answers each text as alone.
    assert batched - batched_before == 1600 and batches - batches_before < 1600
    expected = {text: in_process([text]) for text in TEXTS}
    for texts, (result,) in answers.values():
        want = expected[texts[0]]
        assert result["intent"]["label"] == want[names.label_key("intent")][0].decode()
        n = int(want[names.LENGTHS][0])
        assert [tag for _, tag in result["slots"]["tags"]] == [t.decode() for t in want[names.tags_key("slots")][0][:n]]
