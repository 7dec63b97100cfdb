#!/usr/bin/env bash
# One short check of sparseae on a CUDA GPU (about 6 minutes on an H100 or H200), for the day a
# GPU machine is lent. From the repository root, on that machine:
#
#     MNIST=/path/to/mnist OUT=/some/folder bash benchmarks/gpu_check.sh
#
# 1. the PyTorch-device tests (tests/test_backend.py, tests/test_lbfgs.py) with
#    SPARSEAE_TEST_DEVICE=cuda: exactness against NumPy, and θ kept on the GPU by L-BFGS;
# 2. benchmarks/gpu.py: exactness, and (b), (c) per evaluation against the GPU's floor;
# 3. benchmarks/lbfgs.py --device cuda: (b), (c) fits with sparseae's L-BFGS (θ on the GPU)
#    and with SciPy's L-BFGS-B (θ on the host, the objective on the GPU);
# 4. benchmarks/stacked_mnist.py --device cuda: UFLDL's stack experiment on the GPU.
# Uses the python3 there (which holds PyTorch) and the source tree, without installing.
set -uo pipefail
export PYTHONPATH="$PWD/src" PYTHONUNBUFFERED=1
OUT="${OUT:-/tmp/sparseae-gpu-check}"
mkdir -p "$OUT"
if [ -n "${MNIST:-}" ] && [ ! -e ../shared/data/mnist ]; then  # where the benchmarks look for it
    mkdir -p ../shared/data && ln -s "$MNIST" ../shared/data/mnist
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/device.txt"
python3 -c "import platform, torch, numpy, scipy; print(platform.processor(), torch.__version__, \
torch.cuda.get_device_name(0), numpy.__version__, scipy.__version__)" | tee -a "$OUT/device.txt"
SPARSEAE_TEST_DEVICE=cuda python3 -m pytest -q -p no:cacheprovider tests/test_backend.py tests/test_lbfgs.py \
    2>&1 | tee "$OUT/pytest.txt"
python3 benchmarks/gpu.py --device cuda --repeats 5 --json "$OUT/gpu.json" 2>&1 | tee "$OUT/gpu.txt"
python3 benchmarks/lbfgs.py --device cuda --workloads bc --iters b=200,c=100 --repeats 5 \
    --json "$OUT/lbfgs_cuda.json" 2>&1 | tee "$OUT/lbfgs.txt"
python3 benchmarks/stacked_mnist.py --device cuda --no-peer --json "$OUT/stacked_mnist_cuda.json" \
    2>&1 | tee "$OUT/stacked.txt"
