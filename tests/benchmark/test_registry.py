import pytest

from benchmark.registry import DuplicateNameError, Registry, UnknownNameError
from benchmark.upstream import UPSTREAMS


def test_decorator_and_direct_registration():
    reg: Registry = Registry("thing")

    @reg.register("double")
    def double(x):
        return 2 * x

    reg.register("triple", lambda x: 3 * x)
    assert reg.get("double")(4) == 8 and reg.get("triple")(2) == 6
    assert reg.names() == ["double", "triple"] and "double" in reg


def test_lazy_entry_is_imported_on_first_use():
    reg: Registry = Registry("thing")
    reg.register_lazy("join", "os.path:join")
    import os.path
    assert reg.get("join") is os.path.join


def test_duplicate_name_is_an_error():
    reg: Registry = Registry("thing")
    reg.register("a", 1)
    with pytest.raises(DuplicateNameError, match="'a' is already registered"):
        reg.register("a", 2)
    with pytest.raises(DuplicateNameError):
        reg.register_lazy("a", "os:getcwd")


def test_unknown_name_suggests_close_names():
    reg: Registry = Registry("upstream")
    reg.register("random-cnn", 1)
    reg.register("random-transformer", 2)
    with pytest.raises(UnknownNameError, match="did you mean 'random-cnn'"):
        reg.get("random-cn")
    with pytest.raises(UnknownNameError, match="Known: random-cnn, random-transformer"):
        reg.get("zzz")


def test_builtin_upstreams_arrive_through_entry_points():
    # the baselines are declared in pyproject.toml exactly as a third-party plugin would be
    assert {"logmel", "random-cnn", "random-transformer"} <= set(UPSTREAMS.names())
    from models.baselines import logmel
    assert UPSTREAMS.get("logmel") is logmel


def test_plugin_clashing_with_a_registration_is_an_error(monkeypatch):
    from importlib.metadata import EntryPoint
    import benchmark.registry as registry
    reg: Registry = Registry("upstream", "earbench.test")
    reg.register("logmel", object())
    monkeypatch.setattr(registry, "entry_points",
                        lambda group: [EntryPoint("logmel", "models.baselines:logmel", group)])
    with pytest.raises(DuplicateNameError, match="plugin 'models.baselines:logmel'"):
        reg.names()
