# `make demo` and `make test` each set up everything they need first:
# the Debian packages (sound sources), a .venv reused while the dependency files are
# unchanged, and the project itself in editable mode.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEPS_HASH := $(shell cat pyproject.toml | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(DEPS_HASH)
APT_PACKAGES := ffmpeg espeak-ng flite fluidsynth fluid-soundfont-gm sonic-pi-samples alsa-utils chromium chromium-driver
DEMO_SIZE ?= small
# the benchmark `make demo` evaluates (minutes on two cores); `make demo-full` runs the whole `mini` one
DEMO_BENCHMARK ?= mini-quick
DEMO_MODELS ?= -m logmel -m random-cnn -m random-transformer
DEMO_PROCESSES ?= 2
DEMO_RESULTS ?= results

.PHONY: setup sysdeps demo demo-full test test-slow perf reports clean

setup: sysdeps $(STAMP)

sysdeps:
	@command -v dpkg >/dev/null || { echo "warning: not a Debian system; install by hand: $(APT_PACKAGES)" >&2; exit 0; }; \
	missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done | xargs); \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; \
	else echo "earbench needs these Debian packages, and installing them needs root:" >&2; \
	     echo "    sudo apt-get install $$missing" >&2; exit 1; fi; \
	echo "installing Debian packages: $$missing"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

demo: setup
	$(VENV)/bin/earbench data build mini --size $(DEMO_SIZE)
	$(VENV)/bin/earbench run --benchmark $(DEMO_BENCHMARK) $(DEMO_MODELS) --seeds 1 --processes $(DEMO_PROCESSES) \
		--results $(DEMO_RESULTS)
	$(VENV)/bin/earbench leaderboard --results $(DEMO_RESULTS) --benchmark $(DEMO_BENCHMARK) --out $(DEMO_RESULTS)

# the whole mini benchmark, three seeds: an hour or more on two cores
demo-full: setup
	$(VENV)/bin/earbench data build mini --size $(DEMO_SIZE)
	$(VENV)/bin/earbench run --benchmark mini $(DEMO_MODELS) --seeds 3 --processes $(DEMO_PROCESSES) --results $(DEMO_RESULTS)
	$(VENV)/bin/earbench leaderboard --results $(DEMO_RESULTS) --benchmark mini --out $(DEMO_RESULTS)

test: setup
	$(PY) -m pytest

test-slow: setup
	$(PY) -m pytest -m slow

# the benchmarks rewrite their reports in docs/reports/
perf: setup
	EARBENCH_REPORT_DIR=docs/reports $(PY) -m pytest -m perf -s -p no:cacheprovider

# the reports computed from the committed records (the calibration's chance levels need the small build)
reports: setup
	$(VENV)/bin/earbench data build mini --size small
	$(PY) scripts/reports.py calibration --results leaderboard/results --size small
	$(PY) scripts/reports.py pretraining --results docs/reports/records/before-fixes
	$(PY) scripts/reports.py evidence --results leaderboard/results
	$(PY) -m leaderboard.committed

clean:
	rm -rf $(VENV) build *.egg-info
