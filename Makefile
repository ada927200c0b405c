# yuqing-monitor: the one task runner. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo console test lint format bench soak clean train-tone

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) demo/run_demo.py

console: $(STAMP)  # the web console on the demo's data (run `make demo` first); Ctrl-C stops it
	@test -f demo/work/config/monitor.toml || { echo "请先运行 make demo"; exit 1; }
	YUQING_WEB_SECRET=demo-web-secret-not-for-production $(PY) -m monitor --config demo/work/config/monitor.toml web

test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/run.py

soak: $(STAMP)  # a real daemon against slow, hanging and failing sources (SOAK_SECONDS=300)
	$(PY) bench/soak.py

# the bundled tone model and its card, from the public labelled sets (never copied into the
# repository) and monitor/tone/headlines.tsv; TONE_DATA names the sets' directory
TONE_DATA ?= $(firstword $(wildcard ../shared/data/tone /work/shared/data/tone))
train-tone: $(STAMP)
	@test -n "$(TONE_DATA)" || { echo "错误：找不到公开数据集，请用 make train-tone TONE_DATA=目录 指明"; exit 1; }
	$(PY) -m monitor.tone.bundle --data $(TONE_DATA)

clean:
	rm -rf $(VENV) demo/work .pytest_cache .ruff_cache
