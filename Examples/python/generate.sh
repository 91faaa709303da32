#!/usr/bin/env bash
# Regenerates the committed Python protobuf code in lomad_client/loma/v1 from Protos/.
#
# The output is committed so `pip install` needs no protoc. protoc (Debian protobuf-compiler 3.21)
# writes absolute imports (`from loma.v1 import ...`); they are rewritten to import from inside
# this package, so the generated modules never clash with another `loma` package on sys.path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 1; }

out=$here/lomad_client
rm -rf "$out/loma"
# --pyi_out: type stubs, so a type checker sees the messages the package's annotations name.
protoc -I "$root/Protos" --python_out="$out" --pyi_out="$out" $(cd "$root/Protos" && find loma -name '*.proto' | sort)
sed -i 's/^from loma\.v1 import /from lomad_client.loma.v1 import /' "$out"/loma/v1/*_pb2.py "$out"/loma/v1/*_pb2.pyi
touch "$out/loma/__init__.py" "$out/loma/v1/__init__.py"
echo "generated: $(cd "$out" && ls loma/v1/*_pb2.py loma/v1/*_pb2.pyi | tr '\n' ' ')"
