#!/usr/bin/env bash
# Start one node of a Ray cluster for `python -m funrl.train` RL recipes.
#
#   bash ray_start.sh head                 # on the head node (prints the address workers join)
#   bash ray_start.sh worker <head-ip>     # on every other node
#
# Ray workers inherit this shell's environment: export WANDB_API_KEY (or WANDB_MODE=offline), WANDB_DIR,
# HF_HOME and the NCCL settings of your cluster BEFORE starting Ray on each node.
# Env: RAY_PORT (6379), RAY_DASHBOARD_PORT (8265), GPUS_PER_NODE (all visible GPUs).
set -euo pipefail

role=${1:?usage: ray_start.sh head | worker <head-ip>}
port=${RAY_PORT:-6379}
gpus=()
if [[ -n "${GPUS_PER_NODE:-}" ]]; then gpus=(--num-gpus "$GPUS_PER_NODE"); fi
run() { if [[ -n "${FUNRL_DRY_RUN:-}" ]]; then echo "$*"; else "$@"; fi; }

case "$role" in
  head)
    run ray start --head --port="$port" --dashboard-host=0.0.0.0 \
      --dashboard-port="${RAY_DASHBOARD_PORT:-8265}" "${gpus[@]}"
    ;;
  worker)
    head=${2:?usage: ray_start.sh worker <head-ip>}
    run ray start --address="$head:$port" "${gpus[@]}"
    ;;
  *)
    echo "ray_start.sh: role must be head or worker, got '$role'" >&2
    exit 2
    ;;
esac
