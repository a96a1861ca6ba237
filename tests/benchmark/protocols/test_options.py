"""Protocol options (`-o KEY=VALUE`): each protocol declares the ones it takes; an unknown one
(a typo) or a value out of range is one clear error before any work, and the docs' table is
the declarations'."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmark import evaluate
from benchmark.errors import ProtocolError
from benchmark.family import FAMILIES
from benchmark.protocols import PROTOCOLS
from benchmark.protocols.base import declared_options
from benchmark.protocols.options import Option, check_options, markdown
from tests.support.helpers import run_cli

ROOT = Path(__file__).parents[3]
DOCS = ROOT / "docs" / "protocols.md"
BEGIN, END = "<!-- options table: begin -->\n", "<!-- options table: end -->\n"


def test_a_typo_is_refused_before_any_work_with_the_closest_option(tmp_path, capsys):
    missing = str(tmp_path / "no-such-task")  # the options are checked before the task is even read
    code, _, err = run_cli(capsys, "run", "-m", "logmel", "-t", missing, "--protocol", "mlp", "-o", "hiden=3",
                           "--results", str(tmp_path / "r"))
    err = " ".join(err.split())
    assert code == 2 and "protocol 'mlp' has no option 'hiden': did you mean hidden?" in err
    assert "mlp takes: batch_size, embedding_dim, hidden, lr, max_epochs, max_train_frames, patience" in err
    assert not (tmp_path / "r").exists()


def test_an_option_of_another_protocol_is_named_as_such():
    with pytest.raises(ProtocolError, match=r"protocol 'linear' has no option 'hiden': did you mean hidden\? "
                                            r"\(an option of bilstm, mlp; linear takes: batch_size, "):
        PROTOCOLS.get("linear").check_options({"hiden": 3})
    with pytest.raises(ProtocolError, match=r"protocol 'linear' has no option 'hidden' \(an option of bilstm, mlp;"):
        PROTOCOLS.get("linear").check_options({"hidden": 3})
    with pytest.raises(ProtocolError, match=r"^protocol 'qbe' has no option 'k' \(qbe takes none\)$"):
        PROTOCOLS.get("qbe").check_options({"k": 3})


@pytest.mark.parametrize("protocol, options, message", [
    ("mlp", {"hidden": 0}, "option hidden=0: expected integer >= 1 (protocol 'mlp')"),
    ("mlp", {"max_epochs": -5}, "option max_epochs=-5: expected integer >= 1 (protocol 'mlp')"),
    ("mlp", {"hidden": 2.5}, "option hidden=2.5: expected integer >= 1 (protocol 'mlp')"),
    ("mlp", {"hidden": True}, "option hidden=True: expected integer >= 1 (protocol 'mlp')"),
    ("mlp", {"hidden": "wide"}, "option hidden='wide': expected integer >= 1 (protocol 'mlp')"),
    ("bilstm", {"lr": 0}, "option lr=0: expected number > 0 (protocol 'bilstm')"),
    ("bilstm", {"lr": float("nan")}, "option lr=nan: expected number > 0 (protocol 'bilstm')"),
    ("finetune", {"layer_decay": 1.5}, "option layer_decay=1.5: expected number > 0 and <= 1 (protocol 'finetune')"),
    ("linear", {"solver": "sgd"}, "option solver='sgd': expected lbfgs or adam (protocol 'linear')"),
    ("zeroshot", {"prompts": "a {label}"}, "option prompts='a {label}': expected list of text (protocol 'zeroshot')"),
])
def test_a_value_out_of_range_is_one_line_naming_the_option(protocol, options, message):
    with pytest.raises(ProtocolError) as err:
        PROTOCOLS.get(protocol).check_options(options)
    assert str(err.value) == message


@pytest.mark.parametrize("protocol, options", [
    ("mlp", {"hidden": 64, "max_epochs": 1, "patience": 1, "batch_size": 1, "lr": 1e-9}),
    ("mlp", {"hidden": 64.0}),  # an integral number is an integer (`-o hidden=1e3` reads as a float)
    ("linear", {"solver": "adam", "embedding_dim": 1, "max_train_frames": 1}),
    ("finetune", {"encoder_lr": 0, "layer_decay": 1, "batch_seconds": 0.5}),
    ("zeroshot", {"prompts": ["a {label}"]}),
    ("qbe", {}),
])
def test_values_in_range_pass(protocol, options):
    PROTOCOLS.get(protocol).check_options(options)


def test_evaluate_checks_options_as_the_command_line_does(tone_task):
    with pytest.raises(ProtocolError, match="did you mean max_epochs"):
        evaluate("logmel", [tone_task], options={"max_epoch": 3}, progress=False)


def test_option_bounds():
    at_least_one = Option("n", int, "", minimum=1)
    assert [at_least_one.accepts(v) for v in (1, 2, 0, -1, 1.0, 1.5)] == [True, True, False, False, True, False]
    rate = Option("lr", float, "", minimum=0, above=True, maximum=1)
    assert [rate.accepts(v) for v in (0, 1e-12, 1, 1.01, float("inf"))] == [False, True, True, False, False]
    with pytest.raises(ProtocolError, match="did you mean beta"):
        check_options("p", (Option("alpha", int, ""), Option("beta", int, "")), {"betta": 1})


READS = re.compile(r"""\.option\(\s*"(\w+)"|options\.get\(\s*"(\w+)"\)""")


def read_options(module: str) -> set[str]:
    """The option names a protocol module reads (`ctx.option("NAME", ...)`, `options.get("NAME")`)."""
    return {a or b for a, b in READS.findall((ROOT / (module.replace(".", "/") + ".py")).read_text())}


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS.names()))
def test_a_protocol_declares_only_options_its_heads_read(protocol):
    """Every declared option is read by a head the protocol runs (the modules of its families'
    heads, and the shared grid configuration where they use it)."""
    modules = {family.heads[protocol].target.split(":")[0] for family in FAMILIES.values() if protocol in family.heads}
    if any("config_for" in (ROOT / (m.replace(".", "/") + ".py")).read_text() for m in modules):
        modules.add("benchmark.protocols.probing")
    read = set().union(*(read_options(m) for m in modules))
    declared = {option.name for option in PROTOCOLS.get(protocol).options}
    assert declared <= read, f"{protocol} declares options no head of it reads: {sorted(declared - read)}"


def test_every_option_a_head_reads_is_declared_by_some_protocol():
    modules = {head.target.split(":")[0] for family in FAMILIES.values() for head in family.heads.values()}
    read = set().union(*(read_options(m) for m in modules | {"benchmark.protocols.probing"}))
    declared = {option.name for table in declared_options().values() for option in table}
    assert read == declared


def test_the_docs_table_is_the_declarations():
    text = DOCS.read_text()
    assert BEGIN in text and END in text, f"{DOCS} has no options table between {BEGIN.strip()} and {END.strip()}"
    table = text.split(BEGIN)[1].split(END)[0]
    expected = markdown(declared_options())
    assert table == expected, f"{DOCS}: the options table is out of date; put this between the markers:\n{expected}"
