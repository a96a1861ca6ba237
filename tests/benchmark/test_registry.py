import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest
from tests.support.tone_task import write_tone_task

import benchmark.registry as registry
from benchmark.errors import EarbenchError
from benchmark.registry import DuplicateNameError, Plugin, Registry, UnknownNameError
from benchmark.sources.folder import load_folder_task
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
    with pytest.raises(UnknownNameError, match="unknown upstream 'zzz'; known: random-cnn, random-transformer$"):
        reg.get("zzz")


def test_builtin_upstreams_arrive_through_the_models_plugin():
    # models/plugin.py declares the baselines; the `earbench.plugins` entry point names it
    assert {"logmel", "random-cnn", "random-transformer"} <= set(UPSTREAMS.names())
    from models.baselines import logmel
    assert UPSTREAMS.get("logmel") is logmel


def test_plugin_clashing_with_a_registration_is_an_error(monkeypatch):
    reg: Registry = Registry("upstream", "earbench.test")
    reg.register("logmel", object())
    real = registry.entry_points
    monkeypatch.setattr(registry, "entry_points", lambda group: [EntryPoint("logmel", "models.baselines:logmel", group)]
                        if group == "earbench.test" else real(group=group))
    with pytest.raises(DuplicateNameError, match="plugin 'models.baselines:logmel'"):
        reg.names()


def test_a_broken_package_plugin_is_one_clear_error(monkeypatch):
    real = registry.entry_points
    monkeypatch.setattr(registry, "entry_points", lambda group: [EntryPoint("broken", "no_such_module:PLUGIN", group)]
                        if group == registry.PLUGINS_GROUP else real(group=group))
    with pytest.raises(EarbenchError, match="plugin 'broken': cannot import 'no_such_module:PLUGIN'"):
        Registry("upstream", "earbench.upstreams").names()
    monkeypatch.setattr(registry, "entry_points", lambda group: [EntryPoint("odd", "os:path", group)]
                        if group == registry.PLUGINS_GROUP else real(group=group))
    with pytest.raises(EarbenchError, match="plugin 'odd': 'os:path' is a module, not a benchmark.registry.Plugin"):
        Registry("upstream", "earbench.upstreams").names()


def test_every_installed_plugin_names_objects_that_import():
    plugins = dict(registry.installed_plugins())
    assert {"tasks", "models", "leaderboard"} <= set(plugins)
    for package, plugin in plugins.items():
        for group, entries in plugin.entries.items():
            for name, target in entries.items():
                assert registry.import_string(target) is not None, (package, group, name)
        for group, target in plugin.tables.items():
            table = registry.import_string(target)
            assert isinstance(table, dict) and table, (package, group, target)


def test_plugin_modules_import_no_builtin():
    """What `earbench --help` pays for the built-ins: three declarations, none of what they name."""
    code = ("import sys, tasks.plugin, models.plugin, leaderboard.plugin; "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('benchmark', 'tasks', 'models', 'leaderboard'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["benchmark", "benchmark.errors", "benchmark.registry", "leaderboard", "leaderboard.plugin",
                   "models", "models.plugin", "tasks", "tasks.plugin"]


def test_plugin_tables_are_imported_only_when_a_name_needs_them(tmp_path, monkeypatch):
    (tmp_path / "lazy_table_module.py").write_text("TABLE = {'x': 1, 'y': 2}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin = Plugin(entries={"earbench.test": {"join": "os.path:join"}},
                    tables={"earbench.test": "lazy_table_module:TABLE"})
    monkeypatch.setattr(registry, "installed_plugins", lambda: [("fake", plugin)])
    reg: Registry = Registry("thing", "earbench.test")
    import os.path
    assert reg.get("join") is os.path.join and "join" in reg
    assert "lazy_table_module" not in sys.modules
    assert reg.get("y") == 2 and "lazy_table_module" in sys.modules
    assert reg.names() == ["join", "x", "y"]
    monkeypatch.delitem(sys.modules, "lazy_table_module")


def test_a_table_name_clashing_with_an_entry_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "clashing_table_module.py").write_text("TABLE = {'join': 1}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin = Plugin(entries={"earbench.test": {"join": "os.path:join"}},
                    tables={"earbench.test": "clashing_table_module:TABLE"})
    monkeypatch.setattr(registry, "installed_plugins", lambda: [("fake", plugin)])
    with pytest.raises(DuplicateNameError, match="'join' from the table 'clashing_table_module:TABLE'"):
        Registry("thing", "earbench.test").names()
    monkeypatch.delitem(sys.modules, "clashing_table_module")


def test_third_party_plugins_in_the_kind_groups_still_load(tmp_path, monkeypatch):
    """A distribution that declares an upstream and a task the old way (`earbench.upstreams`,
    `earbench.tasks` entry points) loads beside the built-ins, through the real lookups."""
    task_dir = write_tone_task(tmp_path / "tones", per_class=3)
    site = tmp_path / "site"
    (site / "fake_earbench_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "fake_earbench_plugin-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-earbench-plugin\nVersion: 0.1\n")
    (site / "fake_earbench_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[earbench.upstreams]\nfake-upstream = fake_earbench_plugin:upstream\n\n"
        "[earbench.tasks]\nfake-task = fake_earbench_plugin:task\n")
    (site / "fake_earbench_plugin.py").write_text(
        "from benchmark.sources.folder import load_folder_task\nfrom models.baselines import LogMel\n\n"
        "def upstream():\n    return LogMel(n_mels=32)\n\n"
        f"def task():\n    return load_folder_task({str(task_dir)!r})\n")
    monkeypatch.syspath_prepend(str(site))
    import benchmark.sources.load as sources
    import benchmark.upstream as upstream
    monkeypatch.setattr(upstream, "UPSTREAMS", Registry("upstream", "earbench.upstreams"))
    monkeypatch.setattr(sources, "TASKS", Registry("task", "earbench.tasks"))
    assert upstream.load_upstream("fake-upstream").config["n_mels"] == 32
    assert sources.load_task("fake-task").name == load_folder_task(task_dir).name
    assert {"fake-upstream", "logmel"} <= set(upstream.UPSTREAMS.names())
    assert {"fake-task", "mini-kws", "esc50"} <= set(sources.TASKS.names())
    monkeypatch.delitem(sys.modules, "fake_earbench_plugin")


@pytest.mark.parametrize("imported_first", [False, True])
def test_a_factory_both_decorated_and_declared_is_one_registration(tmp_path, monkeypatch, imported_first):
    """A plugin may decorate its factory and also declare it as an entry point: that is itself, not a clash."""
    reg: Registry = Registry("upstream", "earbench.test")
    (tmp_path / "self_declared_plugin.py").write_text(
        "from tests.benchmark.test_registry import SELF_DECLARED\n\n"
        "@SELF_DECLARED[0].register('mine')\ndef mine():\n    return 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(SELF_DECLARED, 0, reg)
    plugin = Plugin(entries={"earbench.test": {"mine": "self_declared_plugin:mine"}})
    monkeypatch.setattr(registry, "installed_plugins", lambda: [("fake", plugin)])
    if imported_first:
        import self_declared_plugin  # noqa: F401 - its decorator registers before the entry points are read
    assert reg.get("mine")() == 7 and reg.names() == ["mine"]
    monkeypatch.delitem(sys.modules, "self_declared_plugin")


SELF_DECLARED: dict[int, Registry] = {}
