# The two commands a newcomer needs (both bootstrap tools into ~/.cache/scimbridge first):
#   make dev    bring up the local stack (FerretDB + Redis + scim-api + scim-worker) and show it answering
#   make test   run every test against real servers
.PHONY: dev test bootstrap bench faults
dev:
	bash scripts/dev.sh
test:
	bash scripts/test.sh
bootstrap:
	bash scripts/bootstrap.sh
bench:
	bash scripts/bench.sh
faults:
	bash scripts/test.sh --faults
