# The two commands of the quick start: `make run` and `make test`.
SWIFT ?= swift
PORT ?= 8080
# sshd stays off on a developer's machine; SSH=auto manages it as in a pod.
SSH ?= off

.PHONY: run test test-python build deps bench clean

deps:
	@bootstrap/install-deps

build: deps
	$(SWIFT) build

## Build and start podagent on its embedded defaults (no config file, no GPU needed).
run: build
	PODAGENT_SSH=$(SSH) exec .build/debug/podagent run --http-port $(PORT)

## Install what is missing and run the whole test suite.
test: deps
	$(SWIFT) build
	$(SWIFT) test
	$(MAKE) test-python

## The real model workers' Python tests (stand-in torch/mmcv/mmdet3d: no GPU or weights needed).
test-python:
	python3 -m unittest discover -s Tests/python -v

bench: deps
	$(SWIFT) build -c release
	bench/run-all

clean:
	rm -rf .build
