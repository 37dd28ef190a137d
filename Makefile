# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench gpu-check browser clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -e ".[test,play,ray]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/yume-gym demo --out demo.mp4

test: $(STAMP) browser
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

# Headless Chromium and its driver, for the page test of `yume-gym serve`: installed quietly
# with apt-get when missing and make runs as root; otherwise that test skips and says why.
browser:
	@if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and chromium-driver with apt-get (for the browser test)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	        chromium chromium-driver; } >/dev/null 2>&1 \
	      || echo "note: apt-get could not install chromium; the browser test will skip"; \
	  else \
	    echo "note: no chromium/chromedriver (apt-get install chromium chromium-driver); the browser test will skip"; \
	  fi; \
	fi

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(VENV)/bin/yume-gym bench generator --threads 1 --grid 8 --out docs/benchmarks
	$(VENV)/bin/yume-gym bench generator --threads 1 --grid 16 --modes tscm,tscm-no-branch --out docs/benchmarks
	$(VENV)/bin/yume-gym bench episode --threads 2 --caps 0,256,64 --out docs/benchmarks/episode.md

# The first command to run on a GPU, sized to finish within 8 minutes on one H100: the full-size
# 5B step with random weights at both released sizes, compile and int8 off and on, then the GPU tests.
gpu-check: $(STAMP)
	$(VENV)/bin/yume-gym bench yume5b --repeats 2 --warmup 1 --out docs/benchmarks/yume5b.md
	$(PY) -m pytest -q -m gpu

clean:
	rm -rf $(VENV) build *.egg-info
