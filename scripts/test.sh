#!/usr/bin/env bash
# Runs silt's whole test suite, including the S3 tests, against a private
# MinIO server on a loopback port. Usage:
#
#   scripts/test.sh                          # go test ./...
#   scripts/test.sh -race -run TestFoo       # extra flags go to go test
#   scripts/test.sh ./objstore/...  # packages given: only those
#
# The pinned MinIO binary is installed into $(go env GOPATH)/bin on first
# use. Set SILT_MINIO_BIN to use another binary.
set -euo pipefail
cd "$(dirname "$0")/.."

MINIO_MODULE=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
gopath_bin="$(go env GOPATH | cut -d: -f1)/bin"
minio_bin="${SILT_MINIO_BIN:-$gopath_bin/minio}"

log() { echo "test.sh: $*" >&2; }

# (a) A pinned MinIO server binary.
if [[ ! -x "$minio_bin" ]]; then
	log "installing $MINIO_MODULE into $gopath_bin (takes ~5 minutes on a cold module cache)"
	GOBIN="$gopath_bin" go install "$MINIO_MODULE"
	minio_bin="$gopath_bin/minio"
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/silt-test.XXXXXX")"
minio_pid=""
cleanup() {
	if [[ -n "$minio_pid" ]] && kill -0 "$minio_pid" 2>/dev/null; then
		kill "$minio_pid" 2>/dev/null || true
		wait "$minio_pid" 2>/dev/null || true
	fi
	rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# port_in_use PORT: something accepts connections on 127.0.0.1:PORT.
port_in_use() { (
	exec 2>/dev/null
	exec 3<>"/dev/tcp/127.0.0.1/$1"
); }

# free_port: a loopback port nobody listens on right now (racy; the
# caller retries if the server then fails to bind it).
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 40000))
		if ! port_in_use "$p"; then
			echo "$p"
			return 0
		fi
	done
	log "no free loopback port found"
	return 1
}

# healthy PORT: MinIO's liveness endpoint answers 200.
healthy() {
	local status
	status="$(
		exec 2>/dev/null
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf 'GET /minio/health/live HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
		IFS= read -r -t 2 line <&3 || exit 1
		echo "$line"
	)" || return 1
	[[ "$status" == *" 200"* ]]
}

# (b, c) Start MinIO on free loopback ports and wait (bounded) until it is
# live. A port taken between choosing and binding makes MinIO exit; try
# again on other ports.
export MINIO_ROOT_USER=silt-test
export MINIO_ROOT_PASSWORD=silt-test-secret-key
export MINIO_UPDATE=off
# A static KMS key, so that SSE-S3 and SSE-KMS work (the objstore SSE
# tests); a fresh key each run.
kms_key_name=silt-test-key
MINIO_KMS_SECRET_KEY="$kms_key_name:$(head -c 32 /dev/urandom | base64)"
export MINIO_KMS_SECRET_KEY
minio_log="$workdir/minio.log"
port=""
for try in 1 2 3 4 5; do
	api_port="$(free_port)"
	console_port="$(free_port)"
	[[ "$api_port" != "$console_port" ]] || continue
	rm -rf "$workdir/data"
	mkdir -p "$workdir/data"
	"$minio_bin" server --quiet --address "127.0.0.1:$api_port" \
		--console-address "127.0.0.1:$console_port" --certs-dir "$workdir/certs" \
		"$workdir/data" >"$minio_log" 2>&1 &
	minio_pid=$!
	for _ in $(seq 1 120); do # 120 x 0.5s = 60s
		if healthy "$api_port"; then
			port="$api_port"
			break 2
		fi
		kill -0 "$minio_pid" 2>/dev/null || break
		sleep 0.5
	done
	log "MinIO did not come up on 127.0.0.1:$api_port (attempt $try); its log:"
	cat "$minio_log" >&2
	kill "$minio_pid" 2>/dev/null || true
	wait "$minio_pid" 2>/dev/null || true
	minio_pid=""
done
if [[ -z "$port" ]]; then
	log "giving up: MinIO never became live"
	exit 1
fi
log "MinIO $("$minio_bin" --version | head -n 1) live on 127.0.0.1:$port (log: $minio_log)"

# (d) Point the tests at it.
export SILT_TEST_S3_ENDPOINT="127.0.0.1:$port"
export SILT_TEST_S3_KMS_KEY="$kms_key_name"
export SILT_TEST_MINIO_BIN="$minio_bin" # tests that need their own server (web identity)
unset MINIO_KMS_SECRET_KEY              # the tests' own servers set theirs
export AWS_ACCESS_KEY_ID="$MINIO_ROOT_USER"
export AWS_SECRET_ACCESS_KEY="$MINIO_ROOT_PASSWORD"
export AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ACCESS_KEY AWS_SECRET_KEY

# (d2) Debian's chromium, for the console screenshot test (cmd/silt
# TestConsoleScreenshot: it skips without one, or fails under CI=true).
if ! command -v chromium >/dev/null 2>&1 && [[ -z "${SILT_CHROMIUM:-}" ]]; then
	sudo=""
	[[ "$(id -u)" -eq 0 ]] || sudo="sudo -n"
	if command -v apt-get >/dev/null 2>&1; then
		log "installing Debian's chromium for the console test"
		{ $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium; } >"$workdir/apt.log" 2>&1 ||
			{ log "could not install chromium (log below); the console test will skip, or fail under CI=true"; tail -n 5 "$workdir/apt.log" >&2; }
	fi
fi

# (d3) DuckDB through npm, pinned, for the outside-reader test (bench
# TestScanDuckDBPeer reads silt's data files with DuckDB; it skips without
# it, or fails under CI=true).
duckdb_version="1.5.6-r.1"
if [[ -z "${SILT_BENCH_DUCKDB_DIR:-}" ]] && command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	duckdb_dir="${XDG_CACHE_HOME:-$HOME/.cache}/silt-test/duckdb-$duckdb_version"
	if [[ ! -d "$duckdb_dir/node_modules/@duckdb/node-api" ]]; then
		log "installing @duckdb/node-api@$duckdb_version into $duckdb_dir (npm)"
		mkdir -p "$duckdb_dir"
		npm install --prefix "$duckdb_dir" --no-audit --no-fund --silent "@duckdb/node-api@$duckdb_version" >"$workdir/npm.log" 2>&1 ||
			{ log "could not install DuckDB (log below); the DuckDB test will skip, or fail under CI=true"; tail -n 5 "$workdir/npm.log" >&2; }
	fi
	[[ -d "$duckdb_dir/node_modules/@duckdb/node-api" ]] && export SILT_BENCH_DUCKDB_DIR="$duckdb_dir"
fi

# (e) Run the tests: ./... unless the first argument names packages.
pkgs=(./...)
if [[ $# -gt 0 && "$1" != -* ]]; then
	pkgs=()
fi
status=0
go test -count=1 -timeout 60m "${pkgs[@]}" "$@" || status=$?
if [[ $status -ne 0 ]]; then
	log "go test failed (exit $status); MinIO log: $minio_log (removed on exit)"
	tail -n 20 "$minio_log" >&2 || true
fi
# (f) The EXIT trap stops MinIO and removes the temp directory.
exit "$status"
