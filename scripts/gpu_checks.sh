#!/usr/bin/env bash
# What a lent GPU machine is for (issue 22, item 3), in one short run: the CUDA tests, then
# the GPU tables -- the step overhead at 224 px with the CUDA-graph step
# (viz_core/step_graph.py), batching, streaming, torch.compile -- as bench_*_cuda.md files
# in OUT (default results/), with the log. Nothing here downloads (random weights, offline
# models). GPU_CHECKS_DEVICE=cpu runs the same plumbing on the CPU, small.
#
# On the device machine (the `device` tool runs it in a copy of this tree, where python3
# already holds torch, torchvision and pytest):
#     bash scripts/gpu_checks.sh "$OUT"
# then copy the bench_*_cuda.md files that come back into results/ and commit them.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-results}
mkdir -p "$out"
dev=${GPU_CHECKS_DEVICE:-cuda}  # cpu: a dry run of this script's plumbing (small, slow)
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
exec > >(tee "$out/gpu_checks.log") 2>&1
status=0
step() {  # name, command...: run it, log it, remember a failure, go on
  local name=$1; shift
  echo "== $name: $*"
  local t0=$SECONDS
  "$@" || { echo "!! $name failed"; status=1; }
  echo "== $name took $((SECONDS - t0)) s"
}
"$py" -c "import torch, torchvision; print('torch', torch.__version__, '| torchvision', torchvision.__version__, '| CUDA', torch.version.cuda, '|', torch.cuda.get_device_name() if torch.cuda.is_available() else 'NO GPU')"
step "CUDA tests" "$py" -m pytest -q -p no:cacheprovider -rs tests/test_cuda.py \
  tests/test_engine.py::test_no_host_sync_on_steps_that_yield_nothing
big=(); [ "$dev" = cuda ] || big=(--models fmnist_vgg --repeats 1)
step "overhead (VGG19, ResNet50, fmnist_vgg)" "$py" bench/overhead.py --device "$dev" --out "$out" --repeats 7 "${big[@]}"
step "overhead of the 64 px models" "$py" bench/overhead.py --device "$dev" --out "$out" --models fmnist_vgg fmnist_resnet --repeats 7 --name overhead_small
step "batching" "$py" bench/batching.py --device "$dev" --out "$out"
step "streaming" "$py" bench/streaming.py --device "$dev" --out "$out"
step "torch.compile of the step" "$py" bench/compile_step.py --device "$dev" --out "$out"
echo "== done, status $status"
exit $status
