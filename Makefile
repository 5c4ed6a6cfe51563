# Two commands on a fresh machine with Docker and Python 3.11+:
#   make sweep WORKERS=5   the main job, end to end (WORKERS=1,2,4,8 or 1-4,8: those counts;
#                          ORDER=random [SEED=S]: each round of runs shuffled)
#   make test              every test
# Both create .venv first: make sweep from requirements.txt, make test adds requirements-dev.txt.

PYTHON ?= python3
VENV ?= .venv
WORKERS ?= 5
REPEATS ?= 1
# Empty: sparksweep run's defaults (interleaved; for random, a seed drawn and recorded).
ORDER ?=
SEED ?=
# Empty: the default of inventory/group_vars/all.yml (sparksweep_rows).
ROWS ?=
SWEEP_ID ?=
# Empty: inventory/localhost.yml. A file of your own for several hosts (README, "Several hosts").
INVENTORY ?=

VENV_ABS := $(abspath $(VENV))
export PATH := $(VENV_ABS)/bin:$(PATH)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)

ROLES_WITH_SCENARIOS := $(patsubst roles/%/molecule/default/molecule.yml,%,$(wildcard roles/*/molecule/default/molecule.yml))

.PHONY: setup setup-dev sweep test lint unit integration molecule clean-cluster bench

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps --editable .
	touch $@

# The development tools (pytest, Molecule, the linters, pyspark for local mode, scikit-learn).
setup-dev: $(VENV)/.installed-dev

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

sweep: setup
	$(VENV)/bin/sparksweep run --workers $(WORKERS) --repeats $(REPEATS) $(if $(ORDER),--order $(ORDER),) $(if $(SEED),--seed $(SEED),) $(if $(ROWS),--rows $(ROWS),) $(if $(SWEEP_ID),--sweep-id $(SWEEP_ID),) $(if $(INVENTORY),--inventory $(INVENTORY),)

test: setup-dev lint unit molecule integration

lint: setup-dev
	$(VENV)/bin/yamllint --strict .
	$(VENV)/bin/ansible-lint --profile production
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

unit: setup-dev
	$(VENV)/bin/pytest tests/unit

# Each role's scenario converges, checks idempotence and verifies against the local engine.
molecule: setup-dev
	@set -e; for role in $(ROLES_WITH_SCENARIOS); do \
	  echo "== molecule test: $$role"; \
	  (cd roles/$$role && molecule test); \
	done

integration: setup-dev
	$(VENV)/bin/pytest --durations=15 tests/integration

clean-cluster: setup
	$(VENV)/bin/ansible-playbook playbooks/teardown.yml

# The benchmarks (README, "Benchmarks"); not part of make test. Each prints the machine
# first and its ratio last, and writes its JSON to bench/results/. data_load and
# kmeans_iteration run Spark in local mode on the host; fit_overhead --run (a sweep of
# w = 1, 2) and orchestration use the Docker Engine, and orchestration removes the cluster
# at the end.
bench: setup-dev
	$(VENV)/bin/python bench/data_load.py
	$(VENV)/bin/python bench/kmeans_iteration.py
	$(VENV)/bin/python bench/fit_overhead.py --run $(if $(ROWS),--rows $(ROWS),)
	$(VENV)/bin/python bench/orchestration.py
