# Two commands on a fresh machine with Docker and Python 3.11+:
#   make sweep WORKERS=5   the main job, end to end
#   make test              every test
# Both create .venv from requirements.txt first.

PYTHON ?= python3
VENV ?= .venv
WORKERS ?= 5
REPEATS ?= 1
# Empty: the default of inventory/group_vars/all.yml (sparksweep_rows).
ROWS ?=
SWEEP_ID ?=

VENV_ABS := $(abspath $(VENV))
export PATH := $(VENV_ABS)/bin:$(PATH)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)

ROLES_WITH_SCENARIOS := $(patsubst roles/%/molecule/default/molecule.yml,%,$(wildcard roles/*/molecule/default/molecule.yml))

.PHONY: setup sweep test lint unit integration molecule clean-cluster bench

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps --editable .
	touch $@

sweep: setup
	$(VENV)/bin/sparksweep run --workers $(WORKERS) --repeats $(REPEATS) $(if $(ROWS),--rows $(ROWS),) $(if $(SWEEP_ID),--sweep-id $(SWEEP_ID),)

test: setup lint unit molecule integration

lint: setup
	$(VENV)/bin/yamllint --strict .
	$(VENV)/bin/ansible-lint --profile production
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

unit: setup
	$(VENV)/bin/pytest tests/unit

# Each role's scenario converges, checks idempotence and verifies against the local engine.
molecule: setup
	@set -e; for role in $(ROLES_WITH_SCENARIOS); do \
	  echo "== molecule test: $$role"; \
	  (cd roles/$$role && molecule test); \
	done

integration: setup
	$(VENV)/bin/pytest --durations=15 tests/integration

clean-cluster: setup
	$(VENV)/bin/ansible-playbook playbooks/teardown.yml

# The benchmarks (README, "Benchmarks"); not part of make test. Each prints the machine
# first and its ratio last, and writes its JSON to bench/results/. data_load and
# kmeans_iteration run Spark in local mode on the host; fit_overhead --run (a sweep of
# w = 1, 2) and orchestration use the Docker Engine, and orchestration removes the cluster
# at the end.
bench: setup
	$(VENV)/bin/python bench/data_load.py
	$(VENV)/bin/python bench/kmeans_iteration.py
	$(VENV)/bin/python bench/fit_overhead.py --run $(if $(ROWS),--rows $(ROWS),)
	$(VENV)/bin/python bench/orchestration.py
