# torchfleet.lab — developer entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed

# The repository is the collection root; ansible finds it through this link.
COLLECTIONS := $(CURDIR)/build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/torchfleet/lab
# Outside the checkout: inside it, ansible-test would list files with git, which ignores build/.
SANITY_ROOT ?= /tmp/torchfleet-sanity-$(shell printf %s "$(CURDIR)" | sha256sum | cut -c1-12)/ansible_collections/torchfleet/lab

# Scenarios that run in CI one after the other; `windows` and `macos` need hosts this lab does not have.
# BACKGROUND_SCENARIOS (the faults injected on purpose, the air-gapped lab, then the driver packages) also run in CI,
# one after the other, beside these: see `test` below. gpu_driver moved there in session 10 to even out the two
# halves (the rest took about 56 min, the background about 45 min).
BACKGROUND_SCENARIOS := faults airgap gpu_driver
CI_SCENARIOS ?= $(filter-out windows macos $(BACKGROUND_SCENARIOS),$(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))
BACKGROUND_LOG := build/molecule-background.log
S ?= default

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := true
export CONTAINERS_CONF := $(CURDIR)/tests/harness/containers.conf
export ANSIBLE_FORCE_COLOR := false
export PY_COLORS := 0

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

.PHONY: venv
venv: $(STAMP) $(COLLECTION_LINK) ## Create the development virtual environment

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

.PHONY: lint
lint: venv ## yamllint, ansible-lint, ruff, argument specs, generated docs, changelog
	yamllint --strict .
	ansible-lint
	ruff check .
	ruff format --check .
	python tools/check_argument_specs.py
	python tools/gen_compatibility_doc.py --check
	python tools/gen_role_docs.py --check
	python tools/gen_bad_inputs_doc.py --check
	antsibull-changelog lint
	antsibull-docs lint-collection-docs --plugin-docs .

.PHONY: unit
unit: venv ## Unit tests of plugins, harness and trainers
	python -m pytest tests/unit

# ansible-test wants the collection under ansible_collections/<ns>/<name>; copy what git would ship.
.PHONY: sanity
sanity: venv sanity-run ## ansible-test sanity (local, no containers)

# The sanity run of one venv: the dev venv's, or a matrix venv's (BIN and SANITY_PYTHON given by sanity-X.Y).
SANITY_PYTHON ?= 3.11
.PHONY: sanity-run
sanity-run:
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -C $(SANITY_ROOT) -xf -
	$(BIN)/python tools/install_get_pip.py
	@# No PowerShell module ships (validate-modules would need pwsh for one): every test covers every file.
	cd $(SANITY_ROOT) && $(BIN)/ansible-test sanity --local --python $(SANITY_PYTHON) --python-interpreter $(BIN)/python \
	  --color no

# The ansible-core matrix: unit and sanity on every release meta/runtime.yml's requires_ansible admits. Each version
# gets a venv of its own (build/matrix/ansible-core-X.Y) with that ansible-core and requirements-matrix.txt; the
# collections the roles call (ansible.windows, community.general) come from the dev venv's ansible bundle, so only
# ansible-core varies. Controller Pythons per release: docs.ansible.com/ansible/latest/reference_appendices/
# release_and_maintenance.html ("ansible-core support matrix"): 2.16 and 2.17 take 3.10-3.12, 2.18 and 2.19
# 3.11-3.13, 2.20 3.12-3.14. python3.11 runs 2.16-2.19; 2.20 needs a Python 3.12 (MATRIX_PYTHON_2.20).
MATRIX_VERSIONS ?= 2.16 2.17 2.18 2.19 2.20
# The oldest release the roles run on end to end (meta/runtime.yml's requires_ansible): unit and sanity pass on
# every release above, molecule `default` on this one and on the newest (make molecule-oldest, molecule-newest).
ANSIBLE_FLOOR := 2.16
MATRIX_DIR := $(CURDIR)/build/matrix
ANSIBLE_CORE_2.16 := 2.16.19
ANSIBLE_CORE_2.17 := 2.17.14
ANSIBLE_CORE_2.18 := 2.18.19
ANSIBLE_CORE_2.19 := 2.19.14
ANSIBLE_CORE_2.20 := 2.20.10
MATRIX_PYTHON_2.16 ?= $(PYTHON)
MATRIX_PYTHON_2.17 ?= $(PYTHON)
MATRIX_PYTHON_2.18 ?= $(PYTHON)
MATRIX_PYTHON_2.19 ?= $(PYTHON)
# A python3.12 on PATH that runs (a pyenv shim may only say it is not the selected version), else pyenv's newest
# 3.12 build, else none (then 2.20 stops with a message saying so).
MATRIX_PYTHON_2.20 ?= $(or $(shell python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null),$(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12))),python3.12)
MATRIX_SITE = $(firstword $(wildcard $(CURDIR)/$(VENV)/lib/python3*/site-packages))
matrix_venv = $(MATRIX_DIR)/ansible-core-$(1)
matrix_env = PATH=$(call matrix_venv,$(1))/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS):$(MATRIX_SITE)

$(MATRIX_DIR)/ansible-core-%/.installed: requirements-matrix.txt
	@$(MATRIX_PYTHON_$*) -c '' 2> /dev/null || { echo "ansible-core $* needs $(MATRIX_PYTHON_$*), which is not" \
	  "installed; set MATRIX_PYTHON_$*=<interpreter> or MATRIX_VERSIONS without $*" >&2; exit 1; }
	rm -rf $(call matrix_venv,$*) && $(MATRIX_PYTHON_$*) -m venv $(call matrix_venv,$*)
	$(call matrix_venv,$*)/bin/python -m pip install --quiet --upgrade pip
	$(call matrix_venv,$*)/bin/python -m pip install --quiet "ansible-core==$(ANSIBLE_CORE_$*)" -r requirements-matrix.txt
	touch $@

.PHONY: $(addprefix matrix-venv-,$(MATRIX_VERSIONS))
$(addprefix matrix-venv-,$(MATRIX_VERSIONS)): matrix-venv-%: venv $(MATRIX_DIR)/ansible-core-%/.installed

# The unit tests that exercise ansible-core (plugins, role task files, playbooks). The trainers' and the lab
# harness's tests import no ansible and run once, in `make unit`.
MATRIX_UNIT_PATHS := tests/unit/plugins tests/unit/roles tests/unit/playbooks tests/unit/test_repository_drift.py

.PHONY: $(addprefix unit-,$(MATRIX_VERSIONS))
$(addprefix unit-,$(MATRIX_VERSIONS)): unit-%: matrix-venv-%
	$(call matrix_env,$*) python -m pytest -q -p no:cacheprovider $(wildcard $(MATRIX_UNIT_PATHS))

.PHONY: $(addprefix sanity-,$(MATRIX_VERSIONS))
$(addprefix sanity-,$(MATRIX_VERSIONS)): sanity-%: matrix-venv-%
	$(MAKE) --no-print-directory sanity-run BIN=$(call matrix_venv,$*)/bin \
	  SANITY_PYTHON=$$($(call matrix_venv,$*)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

.PHONY: matrix
matrix: $(foreach v,$(MATRIX_VERSIONS),unit-$(v) sanity-$(v)) ## Unit and sanity on every ansible-core of the matrix

# Molecule on one ansible-core of the matrix (issue 15: on the oldest and the newest supported). Its venv
# (build/molecule/ansible-core-X.Y) holds that ansible-core and the molecule, molecule-plugins and pytest-testinfra
# pins of requirements-dev.txt; the collections (containers.podman for molecule's podman driver, community.general,
# ansible.windows) are the dev venv's ansible bundle, linked where ansible-core's sys.path scan finds them
# (ANSIBLE_COLLECTIONS_SCAN_SYS_PATH), so only ansible-core varies, as in `make matrix`.
MOLECULE_DIR := $(CURDIR)/build/molecule
MOLECULE_OLDEST := $(ANSIBLE_FLOOR)
MOLECULE_NEWEST := $(lastword $(MATRIX_VERSIONS))
molecule_venv = $(MOLECULE_DIR)/ansible-core-$(1)

$(MOLECULE_DIR)/ansible-core-%/.installed: requirements-dev.txt
	@$(MATRIX_PYTHON_$*) -c '' 2> /dev/null || { echo "ansible-core $* needs $(MATRIX_PYTHON_$*), which is not" \
	  "installed; set MATRIX_PYTHON_$*=<interpreter>" >&2; exit 1; }
	rm -rf $(call molecule_venv,$*) && $(MATRIX_PYTHON_$*) -m venv $(call molecule_venv,$*)
	$(call molecule_venv,$*)/bin/python -m pip install --quiet --upgrade pip
	$(call molecule_venv,$*)/bin/python -m pip install --quiet "ansible-core==$(ANSIBLE_CORE_$*)" \
	  $$(grep -E '^(molecule|molecule-plugins\[podman\]|pytest-testinfra)==' requirements-dev.txt)
	ln -sfn $(MATRIX_SITE)/ansible_collections \
	  "$$($(call molecule_venv,$*)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/ansible_collections"
	touch $@

.PHONY: $(addprefix molecule-,$(MATRIX_VERSIONS))
$(addprefix molecule-,$(MATRIX_VERSIONS)): molecule-%: venv lab $(MOLECULE_DIR)/ansible-core-%/.installed
	PATH=$(call molecule_venv,$*)/bin:$$PATH molecule test -s $(S)

.PHONY: molecule-oldest molecule-newest
molecule-oldest: molecule-$(MOLECULE_OLDEST) ## Molecule (S=default) on the oldest supported ansible-core
molecule-newest: molecule-$(MOLECULE_NEWEST) ## Molecule (S=default) on the newest ansible-core of the matrix

IMPORTER_VENV := $(CURDIR)/build/importer-venv
IMPORTER_STAMP := $(IMPORTER_VENV)/.installed
$(IMPORTER_STAMP): requirements-importer.txt
	$(PYTHON) -m venv $(IMPORTER_VENV)
	$(IMPORTER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(IMPORTER_VENV)/bin/python -m pip install --quiet -r requirements-importer.txt
	touch $@

# Galaxy's importer on the built tarball, with its own defaults (ansible-lint production profile, ansible-doc of
# every plugin, role READMEs and metadata): any ERROR or WARNING line fails, as Galaxy would show it to users.
.PHONY: importer
importer: build $(IMPORTER_STAMP) ## Run galaxy-importer on the built tarball; fail on any error or warning
	cd build && env -u ANSIBLE_COLLECTIONS_PATH PATH=$(IMPORTER_VENV)/bin:$$PATH \
	  $(IMPORTER_VENV)/bin/python -m galaxy_importer.main torchfleet-lab-*.tar.gz > importer.log 2>&1 \
	  || { cat importer.log; echo "galaxy-importer failed on the tarball" >&2; exit 1; }
	@if grep -E '^(ERROR|WARNING)' build/importer.log; then \
	  echo "galaxy-importer reported the lines above (build/importer.log)" >&2; exit 1; fi
	@echo "galaxy-importer: $$(grep -c . build/importer.log) lines, no error or warning (build/importer.log)"

# The documentation site users would read on docs.ansible.com's model: antsibull-docs writes the RST of every plugin
# and role from their documentation, Sphinx builds the HTML, with warnings as errors. Offline: the intersphinx
# inventories sphinx-init names (docs.python.org, docs.ansible.com) are not fetched.
DOCSITE := build/docsite
.PHONY: docs
docs: venv ## Build the docs site (antsibull-docs and Sphinx) into build/docsite/build/html
	rm -rf $(DOCSITE) && mkdir -p $(DOCSITE)/rst && chmod og-w $(DOCSITE)/rst
	antsibull-docs sphinx-init --use-current --squash-hierarchy --dest-dir $(DOCSITE) --project torchfleet.lab \
	  --title "torchfleet.lab collection" --html-short-title torchfleet.lab --copyright "torchfleet.lab contributors" \
	  torchfleet.lab > /dev/null
	printf '\n# make docs: build offline, without intersphinx inventories.\nintersphinx_mapping = {}\n' >> $(DOCSITE)/conf.py
	antsibull-docs --config-file $(DOCSITE)/antsibull-docs.cfg collection --cleanup everything --use-current \
	  --squash-hierarchy --dest-dir $(DOCSITE)/rst torchfleet.lab
	sphinx-build -M html $(DOCSITE)/rst $(DOCSITE)/build -c $(DOCSITE) -q -w $(DOCSITE)/warnings.log
	@# Offline, references to other collections' plugins and to docs.ansible.com's pages (labels outside
	@# ansible_collections.torchfleet.lab) cannot resolve; any other warning fails the build.
	@if grep -v -E "WARNING: undefined label: '([a-z_]+|ansible_collections\.[a-z_]+\.[a-z_]+\.[a-z_]+)' \[ref\.ref\]$$" \
	    $(DOCSITE)/warnings.log | grep -E . || grep -E "undefined label: 'ansible_collections\.torchfleet\.lab\." \
	    $(DOCSITE)/warnings.log; then echo "the docs site has the warnings above" >&2; exit 1; fi
	@echo "docs site: $$(find $(DOCSITE)/build/html -name '*.html' | wc -l) pages in $(DOCSITE)/build/html;" \
	  "$$(grep -c . $(DOCSITE)/warnings.log || true) references outside the collection left unresolved offline"

.PHONY: build
build: venv ## Build the collection tarball into build/
	rm -f build/torchfleet-lab-*.tar.gz
	ansible-galaxy collection build --force --output-path build .
	@# The tarball users install must not carry the test lab.
	@if tar -tzf build/torchfleet-lab-$$(sed -n 's/^version: //p' galaxy.yml).tar.gz \
	    | grep -E '^(tests|molecule|benchmarks|tools|\.cache|\.venv|\.ci|build)(/|$$)'; then \
	  echo "collection tarball carries files listed above; extend build_ignore in galaxy.yml" >&2; exit 1; fi
	@echo "collection tarball: $$(tar -tzf build/torchfleet-lab-*.tar.gz | wc -l) files, no tests or molecule"

# The execution environment (execution-environment.yml), built with ansible-builder on a Debian 12 base made from
# the lab image, and run with ansible-runner: docs/execution-environment.md. Tools in a virtual environment of their
# own (requirements-ee.txt). No image registry is needed: the build args below swap the definition's UBI 9 base for
# the local one, its package manager for tests/harness/ee/ee-apt and its Python for the base's venv.
EE_VENV := $(CURDIR)/build/ee-venv
EE_STAMP := $(EE_VENV)/.installed
EE_IMAGE ?= localhost/torchfleet-ee:latest
EE_BASE_IMAGE ?= localhost/torchfleet-ee-base:latest
TORCHFLEET_LAB_IMAGE ?= localhost/torchfleet-debian:12
# Galaxy cannot be reached in CI: the pinned ansible package (requirements.txt) from PyPI brings the collections the
# roles need into the EE's site-packages, so ansible-galaxy installs the tarball --offline and finds its dependencies
# installed. Where Galaxy is reachable, leave both out to take them from Galaxy as the definition says.
EE_INSTALL_REFS ?= ansible-core==2.19.14 ansible-runner==2.4.3 ansible==12.3.0
EE_GALAXY_OPTS ?= --offline
# The build trusts what the building machine trusts (pip's certificate bundle; tests/harness/ee/pip.conf).
EE_CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
# More ansible-builder options, e.g. EE_BUILDER_OPTS=--no-cache for a build from scratch.
EE_BUILDER_OPTS ?=
$(EE_STAMP): requirements-ee.txt
	$(PYTHON) -m venv $(EE_VENV)
	$(EE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(EE_VENV)/bin/python -m pip install --quiet -r requirements-ee.txt
	touch $@

.PHONY: ee
ee: build $(EE_STAMP) ## Build the execution environment image (EE_IMAGE) with ansible-builder, log in build/ee/build.log
	tests/harness/lab.sh image
	podman build --quiet --build-arg LAB_IMAGE=$(TORCHFLEET_LAB_IMAGE) -t $(EE_BASE_IMAGE) \
	  -f tests/harness/ee/Containerfile.base tests/harness/ee > /dev/null
	mkdir -p build/ee && cp build/torchfleet-lab-$$(sed -n 's/^version: //p' galaxy.yml).tar.gz build/ee/torchfleet-lab.tar.gz
	rm -rf build/ee/context
	$(EE_VENV)/bin/ansible-builder build --file execution-environment.yml --context build/ee/context \
	  --tag $(EE_IMAGE) --container-runtime podman --verbosity 3 $(EE_BUILDER_OPTS) \
	  --build-arg EE_BASE_IMAGE=$(EE_BASE_IMAGE) --build-arg PYCMD=/opt/ee/bin/python3 --build-arg PYPKG= \
	  --build-arg PKGMGR=/usr/local/sbin/ee-apt --build-arg "ANSIBLE_INSTALL_REFS=$(EE_INSTALL_REFS)" \
	  --build-arg "ANSIBLE_GALAXY_CLI_COLLECTION_OPTS=$(EE_GALAXY_OPTS)" \
	  --extra-build-cli-args "--network host --volume $(CURDIR)/tests/harness/ee/pip.conf:/etc/pip.conf:ro \
	    --volume $(EE_CA_BUNDLE):/etc/ssl/certs/build-host-ca-bundle.crt:ro" > build/ee/build.log 2>&1 \
	  || { tail -n 40 build/ee/build.log; echo "ansible-builder failed (build/ee/build.log)" >&2; exit 1; }
	@tail -n 4 build/ee/build.log
	@# What the EE holds, from inside it: the collections and the packages its collections asked for.
	podman run --rm --entrypoint /bin/sh $(EE_IMAGE) -c 'ansible-galaxy collection list torchfleet.lab 2>/dev/null \
	  | grep torchfleet; ansible-galaxy collection list 2>/dev/null | grep -E "^(ansible.windows|community.general) "; \
	  ansible --version | head -n 1; python3 -m pip list 2>/dev/null | grep -iE "^(ansible-runner|pywinrm) "; ssh -V'

.PHONY: ee-run
ee-run: lab $(EE_STAMP) ## Run site.yml and train.yml through the EE with ansible-runner; compare with direct runs
	ANSIBLE_RUNNER=$(EE_VENV)/bin/ansible-runner TORCHFLEET_EE_IMAGE=$(EE_IMAGE) \
	  tests/harness/ee_run.sh

.PHONY: ee-ci
ee-ci: lab ee ## CI-sized ee-run: build the EE, then site.yml and train.yml in it and directly, side by side
	ANSIBLE_RUNNER=$(EE_VENV)/bin/ansible-runner TORCHFLEET_EE_IMAGE=$(EE_IMAGE) \
	  tests/harness/ee_run.sh --ci

.PHONY: lab
lab: venv ## Prepare the test lab: host packages, Debian image, mirror and its HTTP server
	tests/harness/lab.sh up

.PHONY: molecule
# windows and macos run against the user's own hosts: no lab containers or mirror needed.
molecule: venv $(if $(filter windows macos,$(S)),,lab) ## Run one molecule scenario: make molecule S=default
	molecule test -s $(S)

.PHONY: molecule-all
molecule-all: lab scenarios ## Every CI scenario, one after the other (faults, airgap and gpu_driver last)
	@for s in $(BACKGROUND_SCENARIOS); do echo "== molecule scenario $$s"; molecule test -s $$s; done

# The CI scenarios but the background ones (BACKGROUND_SCENARIOS), one after the other, on a lab that is up.
.PHONY: scenarios
scenarios:
	@for s in $(CI_SCENARIOS); do echo "== molecule scenario $$s"; molecule test -s $$s; done

.PHONY: faults
faults: lab ## Inject faults on purpose (molecule faults) and write docs/faults.md from what they did
	TORCHFLEET_WRITE_FAULTS_DOC=1 molecule test -s faults

# Everything CI runs. The background scenarios (faults, the longest, then airgap and gpu_driver) run one after the other beside the
# rest, each on hosts, networks, ports and a mirror of its own (their molecule.yml); their log is printed after the
# rest. ee-ci (the EE build and site.yml and train.yml through it, about 3.5 min with the build cached) has a network,
# hosts and port of its own. If the rest fails, or make is interrupted, the background scenarios are stopped (and, on
# failure, their hosts destroyed) rather than waited for.
.PHONY: test
test: lab ## Everything CI runs (the faults, airgap and gpu_driver scenarios beside the rest)
	@mkdir -p $(dir $(BACKGROUND_LOG))
	@echo "== molecule scenarios $(BACKGROUND_SCENARIOS): started in the background; their log follows the rest ($(BACKGROUND_LOG))"
	@setsid bash -c 'rc=0; for s in $(BACKGROUND_SCENARIOS); do echo "== molecule scenario $$s"; SECONDS=0; \
	  molecule test -s $$s || rc=$$?; echo "== molecule scenario $$s: $$SECONDS s"; done; exit $$rc' \
	  > $(BACKGROUND_LOG) 2>&1 < /dev/null & background=$$!; \
	  trap 'kill -TERM -- -$$background 2>/dev/null || true' EXIT; \
	  rest=0; $(MAKE) --no-print-directory lint unit sanity importer docs scenarios ee-ci || rest=$$?; \
	  if [ $$rest -ne 0 ]; then \
	    echo "== the rest failed (rc $$rest): stopping the background scenarios"; \
	    kill -TERM -- -$$background 2>/dev/null || true; wait $$background || true; \
	    for s in $(BACKGROUND_SCENARIOS); do molecule destroy -s $$s > /dev/null 2>&1 || true; done; \
	    exit $$rest; \
	  fi; \
	  rc=0; wait $$background || rc=$$?; \
	  echo "== molecule scenarios $(BACKGROUND_SCENARIOS) (ran beside the rest; rc $$rc)"; cat $(BACKGROUND_LOG); \
	  exit $$rc

.PHONY: demo
demo: venv ## The main job on a throwaway local lab of Debian 12 containers, ending with a table per host
	tests/harness/demo.sh

.PHONY: scale
scale: venv ## site.yml on 8 lab hosts, one with its mirror route cut, then fixed; 8-host/1-host time (build/scale)
	tests/harness/scale.sh

# Not part of `test`: about 20 minutes on a 2-core machine. Issue 14's measures, side by side in one run on the lab
# (benchmarks/run.py says what and how); benchmarks/report.py writes RESULTS.md and the charts from the raw JSON.
.PHONY: bench
bench: lab ## Measure re-runs, first provision, mirror bytes, fleet sizes (~20 min); writes benchmarks/RESULTS.md
	python benchmarks/run.py

.PHONY: bench-clean
bench-clean: ## Remove the benchmark's hosts and stop its servers
	python benchmarks/run.py clean

.PHONY: scale-clean
scale-clean: ## Remove the scale test's hosts, networks and mirror server
	tests/harness/scale.sh clean

.PHONY: demo-clean
demo-clean: ## Remove the demo lab
	tests/harness/demo.sh clean

.PHONY: lab-down
lab-down: ## Stop the lab mirror's HTTP server
	tests/harness/lab.sh mirror-down

.PHONY: clean
clean: ## Remove build output (keeps the venv and the lab cache)
	rm -rf build .pytest_cache .ruff_cache
