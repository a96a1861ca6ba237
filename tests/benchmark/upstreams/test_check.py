import pytest

from benchmark.upstreams.check import check_upstream
from benchmark.upstream import UPSTREAMS, load_upstream
from tests.support.helpers import Broken, run_cli


@pytest.mark.parametrize("name", ["logmel", "random-cnn", "random-transformer"])
def test_baselines_satisfy_the_contract(name):
    failures = [c for c in check_upstream(load_upstream(name)) if not c.ok]
    assert not failures, failures


@pytest.mark.parametrize("how,failing", [
    ("nan", {"finite values"}),
    ("rank", {"shapes"}),
    ("lengths", {"lengths"}),
    ("batch", {"batch independence"}),
    ("hop", {"hop consistent with lengths"}),
])
def test_each_violation_is_reported(how, failing):
    failed = {c.name for c in check_upstream(Broken(how)) if not c.ok}
    assert failed == failing


def test_dtype_and_attributes():
    class Half(Broken):
        def forward(self, audio, lengths):
            out = super().forward(audio, lengths)
            out.hidden_states = [h.half() for h in out.hidden_states]
            return out
    assert {c.name for c in check_upstream(Half("batch")) if not c.ok} >= {"dtype"}
    bad = Broken("nan")
    bad.sample_rate = 0
    assert [c.name for c in check_upstream(bad) if not c.ok] == ["attributes"]


def test_cli_check_exit_codes(capsys):
    UPSTREAMS.register("leaky", lambda: Broken("batch"))
    code, out, err = run_cli(capsys, "check", "leaky")
    assert code == 1 and "batch independence" in err
    code, out, _ = run_cli(capsys, "check", "logmel")
    assert code == 0 and "satisfies the upstream contract" in out


def test_fingerprint_covers_zero_dim_buffers_and_weights():
    import torch
    from benchmark.upstream import fingerprint
    a, b = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    for m in (a, b):
        m.sample_rate, m.hop_ms = 16000, 10.0
    assert fingerprint(a) == fingerprint(b)  # 0-dim num_batches_tracked hashes without error
    b.num_batches_tracked += 1
    assert fingerprint(a) != fingerprint(b)


def test_values_beyond_float16_are_said_to_be_cached_as_float32():
    class Loud(Broken):
        def forward(self, audio, lengths):
            out = super().forward(audio, lengths)
            out.hidden_states = [h * 0 + 1e6 for h in out.hidden_states]
            return out
    (loud,) = [c for c in check_upstream(Loud("batch")) if c.name == "float16 range"]
    assert loud.ok and loud.detail.startswith("max |value| 1e+06: beyond float16's 65504, so the cache stores float32")
    (quiet,) = [c for c in check_upstream(load_upstream("logmel")) if c.name == "float16 range"]
    assert quiet.ok and quiet.detail.endswith("cached as float16")


def test_the_declared_window_is_part_of_the_fingerprint():
    """Two windows cut a long clip differently, so they embed it differently."""
    from benchmark.upstream import fingerprint
    a, b, plain = load_upstream("random-transformer"), load_upstream("random-transformer"), load_upstream("logmel")
    assert fingerprint(a) == fingerprint(b)
    before = fingerprint(plain)
    b.max_seconds = 20.0
    assert fingerprint(a) != fingerprint(b)
    b.max_seconds, b.window_overlap_seconds = a.max_seconds, 1.0
    assert fingerprint(a) != fingerprint(b)  # the overlap too
    assert fingerprint(load_upstream("logmel")) == before  # no window declared: the fingerprint is as before
