# monit: one-machine run, tests and benchmarks. `make help` lists the targets.
.PHONY: help setup run dashboard demo-stream build test typecheck bench

NODE := node --import tsx

help:
	@echo "make run          start the controller on 127.0.0.1:8080 with a local agent (SQLite + chDB under ./data)"
	@echo "make dashboard    build the web dashboard into build/dashboard (make run does it too)"
	@echo "make demo-stream  publish a test HLS stream at http://127.0.0.1:8090/live/index.m3u8"
	@echo "make build        build dist/monit-agent, the agent as one executable that needs no Node.js"
	@echo "make test         install what the tests need and run the whole suite"
	@echo "make typecheck    check the TypeScript types"
	@echo "make bench        run the benchmarks"

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

setup: node_modules/.package-lock.json
	@scripts/ensure-ffmpeg.sh

run: setup dashboard
	$(NODE) controller/src/main.ts --local-agent

dashboard: node_modules/.package-lock.json
	$(NODE) scripts/build-dashboard.ts

demo-stream: setup
	$(NODE) scripts/demo-stream.ts

build: node_modules/.package-lock.json
	$(NODE) scripts/build-agent.ts

test:
	scripts/test-setup.sh
	$(NODE) scripts/test.ts

typecheck: node_modules/.package-lock.json
	npx tsc -p tsconfig.json
	npx tsc -p dashboard/tsconfig.json

bench: setup
	$(NODE) scripts/bench.ts
