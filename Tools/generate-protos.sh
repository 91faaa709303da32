#!/usr/bin/env bash
# Regenerates the committed swift-protobuf code in Sources/LoMAProtocol/Generated from Protos/.
#
# protoc-gen-swift is built once from the swift-protobuf version this package resolves (a
# release build takes several minutes) and cached in .build-protoc-gen-swift; building the
# plugin on every `swift build` would be too slow, which is why the output is committed.
# Needs Debian's protobuf-compiler (protoc).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 1; }

plugin_dir=.build-protoc-gen-swift
plugin=$plugin_dir/release/protoc-gen-swift
if [ ! -x "$plugin" ]; then
    swift package resolve
    version=$(swift package show-dependencies --format json |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(next(x["version"] for x in d["dependencies"] if x["identity"]=="swift-protobuf"))')
    src=$plugin_dir/swift-protobuf
    rm -rf "$src"
    git clone --quiet --depth 1 --branch "$version" https://github.com/apple/swift-protobuf "$src"
    swift build --package-path "$src" --scratch-path "$plugin_dir" -c release --product protoc-gen-swift
fi

out=Sources/LoMAProtocol/Generated
rm -rf "$out"
mkdir -p "$out"
protoc --plugin=protoc-gen-swift="$plugin" \
    --swift_opt=Visibility=Public \
    --swift_opt=FileNaming=PathToUnderscores \
    --swift_out="$out" \
    -I Protos \
    $(find Protos -name '*.proto' | sort)
echo "generated: $(ls "$out" | tr '\n' ' ')"
