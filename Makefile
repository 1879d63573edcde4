# The two commands of the quick start: `make run` and `make test`.
SWIFT ?= swift
PORT ?= 8080
# sshd stays off on a developer's machine; SSH=auto manages it as in a pod.
SSH ?= off
# The synthetic Demo model (no GPU, no weights) is what `make run` serves unless told otherwise.
MODELS ?= Demo
# The venv bootstrap/install-deps puts NVIDIA's tritonclient in.
TRITONCLIENT ?= $(or $(PODAGENT_TRITONCLIENT),/opt/podagent-tritonclient)

.PHONY: run test test-python test-tritonclient build deps bench clean images test-images test-static

deps:
	@bootstrap/install-deps

build: deps
	$(SWIFT) build

## Build and start podagent on its embedded defaults (no config file, no GPU needed).
run: build
	PODAGENT_SSH=$(SSH) PODAGENT_MODELS=$(MODELS) exec .build/debug/podagent run --http-port $(PORT)

## Install what is missing and run the whole test suite.
test: deps
	$(SWIFT) build --build-tests
	@# One process per test target: the controller's and compare's tests block threads (libssh and
	@# sockets are synchronous), which in one process would starve the agent's async tests of the
	@# cooperative thread pool (2 threads on a 2-core CI machine).
	$(SWIFT) test --skip-build --filter '^AgentTests\.'
	$(SWIFT) test --skip-build --filter '^PluginsTests\.'
	$(SWIFT) test --skip-build --filter '^(ControllerTests|CompareTests)\.'
	$(SWIFT) test --skip-build --filter '^(AgentAPITests|PodAgentExtrasTests|SSHClientTests|CurlClientTests)\.'
	python3 -m unittest discover -s Tests/images -p 'test_images.py'
	python3 -m unittest discover -s Tests/repo
	python3 -m unittest discover -s Tests/images -p 'test_loadpath.py'
	$(MAKE) test-python
	$(MAKE) test-tritonclient
	$(MAKE) test-static

## The real model workers' Python tests (stand-in torch/mmcv/mmdet3d: no GPU or weights needed).
test-python:
	python3 -m unittest discover -s Tests/python -v

## NVIDIA's tritonclient (HTTP, from PyPI) against a real podagent serving the Demo model (needs `swift build`).
test-tritonclient:
	$(TRITONCLIENT)/bin/python -m unittest discover -s Tests/tritonclient -v

## Regenerate bootstrap/images/<Model>/Dockerfile from the plugin manifests (docs/images.md).
images:
	$(SWIFT) build --product podagent
	.build/debug/podagent image dockerfile --all --out-dir bootstrap/images --plugins-dir Plugins

## The image recipes follow the rules and match the generator, and provide each model's load path
## (Tests/images/loadpath: facts from the upstream repositories); the k8s manifests parse.
test-images: deps
	$(SWIFT) build --product podagent
	python3 -m unittest discover -s Tests/images -p 'test_images.py' -v
	python3 -m unittest discover -s Tests/images -p 'test_loadpath.py' -v

## A --static-swift-stdlib release build (own scratch path, so it never fights the debug build)
## starts and answers /v2/health/live.
test-static: deps
	$(SWIFT) build -c release --static-swift-stdlib -Xswiftc -Osize --scratch-path .build-static --product podagent
	PODAGENT_STATIC_BIN=.build-static/release/podagent python3 -m unittest discover -s Tests/images -p 'test_static_build.py' -v

bench: deps
	$(SWIFT) build -c release
	bench/run-all

clean:
	rm -rf .build .build-static
