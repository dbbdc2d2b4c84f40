#!/usr/bin/env bash
# Submit a FunRL RL recipe to a running Ray cluster (started with ray_start.sh on every node).
#
#   HEAD=10.0.0.1 NNODES=2 bash submit_ray_job.sh grpo_entropy \
#       data.train_files=/shared/funrl/rl/train.parquet data.val_files=/shared/funrl/rl/val.parquet \
#       trainer.default_local_dir=/shared/funrl/checkpoints/grpo_entropy
#
# NNODES is passed as trainer.nnodes (the recipe's default is 2); all other arguments are Hydra overrides.
# Use absolute, shared paths for data and checkpoints: the job's working directory is Ray's, not yours.
# The job's runtime environment forwards WANDB_MODE, WANDB_PROJECT, WANDB_RUN_ID and WANDB_RESUME when set
# (resume a W&B run after a restart: WANDB_RUN_ID=<id> WANDB_RESUME=allow). FUNRL_DRY_RUN=1 prints the
# command instead of running it.
set -euo pipefail

recipe=${1:?usage: HEAD=<head-ip> NNODES=<n> submit_ray_job.sh <recipe> [hydra overrides...]}
shift
head=${HEAD:?set HEAD to the Ray head node address}
nnodes=${NNODES:-2}

env_json=""
for name in WANDB_MODE WANDB_PROJECT WANDB_RUN_ID WANDB_RESUME; do
  if [[ -n "${!name:-}" ]]; then env_json+="${env_json:+, }\"$name\": \"${!name}\""; fi
done

cmd=(ray job submit --address="http://$head:${RAY_DASHBOARD_PORT:-8265}"
     --runtime-env-json="{\"env_vars\": {${env_json}}}"
     -- python3 -m funrl.train "+recipe=$recipe" "trainer.nnodes=$nnodes" "$@")
if [[ -n "${FUNRL_DRY_RUN:-}" ]]; then echo "${cmd[*]}"; else "${cmd[@]}"; fi
