"""SRML loss: hand-computed values, alpha endpoints, plain-SFT recovery, split invariance (torch only,
plus one check against verl's own sft_loss and one 2-process gloo run)."""

import math

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from funrl.sft.loss import CALL, IGNORE, THINK, count_segments, segment_weights, srml_loss, validate_alpha

# nll per token:     prompt think think call call call
NLL = torch.tensor([100.0, 2.0, 4.0, 1.0, 1.0, 4.0], dtype=torch.float64)
SEG = torch.tensor([IGNORE, THINK, THINK, CALL, CALL, CALL])
# L_think = (2 + 4) / 2 = 3, L_call = (1 + 1 + 4) / 3 = 2


def _loss(alpha, nll=NLL, seg=SEG, **kw):
    log_probs = (-nll).clone().requires_grad_(True)
    num_think, num_call = count_segments(seg)
    loss, parts = srml_loss(log_probs, seg, alpha=alpha, num_think=num_think, num_call=num_call, **kw)
    loss.backward()
    return loss.item(), parts, log_probs.grad


def test_hand_computed_value_and_parts():
    loss, parts, grad = _loss(0.7)
    assert loss == pytest.approx(0.7 * 3 + 0.3 * 2, abs=1e-12)  # 2.7
    assert parts.think == pytest.approx(3.0, abs=1e-12)
    assert parts.call == pytest.approx(2.0, abs=1e-12)
    # d loss / d log_prob = -w / N for each segment token, 0 for the prompt
    expected = torch.tensor([0.0, -0.35, -0.35, -0.1, -0.1, -0.1], dtype=torch.float64)
    torch.testing.assert_close(grad, expected, atol=1e-12, rtol=0)


def test_alpha_endpoints_select_one_segment():
    loss1, _, grad1 = _loss(1.0)
    assert loss1 == pytest.approx(3.0, abs=1e-12)
    assert torch.all(grad1[3:] == 0) and torch.all(grad1[1:3] != 0)
    loss0, _, grad0 = _loss(0.0)
    assert loss0 == pytest.approx(2.0, abs=1e-12)
    assert torch.all(grad0[:3] == 0) and torch.all(grad0[3:] != 0)


def test_token_share_is_plain_token_mean():
    loss, _, _ = _loss("token_share")
    assert loss == pytest.approx((2 + 4 + 1 + 1 + 4) / 5, abs=1e-12)  # 2.4, the prompt excluded
    assert segment_weights("token_share", 2, 3) == pytest.approx((0.4, 0.6))


def test_missing_segment_gives_full_weight_to_the_other():
    seg = torch.tensor([IGNORE, CALL, CALL, CALL, CALL, CALL])  # no think span anywhere: all call
    loss, parts, _ = _loss(0.7, seg=seg)
    assert loss == pytest.approx((2 + 4 + 1 + 1 + 4) / 5, abs=1e-12)
    assert parts.think == 0.0
    assert segment_weights(0.7, 0, 0) == (0.0, 0.0)
    assert segment_weights(0.7, 5, 0) == (1.0, 0.0)


def test_dp_size_scales_the_rank_loss():
    loss, _, _ = _loss(0.7, dp_size=4)
    assert loss == pytest.approx(4 * 2.7, abs=1e-12)


@pytest.mark.parametrize("bad", [1.5, -0.1, "plain", True, None, float("nan")])
def test_bad_alpha_is_rejected_with_the_field_name(bad):
    with pytest.raises(ValueError, match="srml.alpha"):
        validate_alpha(bad)


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match="differ"):
        srml_loss(torch.zeros(3), torch.zeros(4, dtype=torch.long), alpha=0.5, num_think=1, num_call=1)


# --- invariance to how the global batch is split -------------------------------------------------------


def _toy_batch(seed=0, n_seq=8, vocab=11, dim=5):
    """Eight variable-length sequences with prompt / think / call segments and a tiny linear model."""
    g = torch.Generator().manual_seed(seed)
    seqs = []
    for i in range(n_seq):
        n_prompt, n_think, n_call = 2 + i % 3, (0 if i == 5 else 3 + (i * 7) % 11), 1 + (i * 5) % 4
        seg = torch.tensor([IGNORE] * n_prompt + [THINK] * n_think + [CALL] * n_call)
        x = torch.randn(len(seg), dim, generator=g, dtype=torch.float64)
        y = torch.randint(0, vocab, (len(seg),), generator=g)
        seqs.append((x, y, seg))
    weight = torch.randn(dim, vocab, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    return seqs, weight


def _micro_batch_loss(weight, seqs, alpha, num_think, num_call, dp_size=1):
    x = torch.cat([s[0] for s in seqs])  # (T, dim)
    y = torch.cat([s[1] for s in seqs])  # (T,)
    seg = torch.cat([s[2] for s in seqs])  # (T,)
    log_probs = torch.log_softmax(x @ weight, dim=-1).gather(-1, y[:, None]).squeeze(-1)  # (T,)
    return srml_loss(log_probs, seg, alpha=alpha, num_think=num_think, num_call=num_call, dp_size=dp_size)[0]


def _global_counts(seqs):
    return count_segments(torch.cat([s[2] for s in seqs]))


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0, "token_share"])
def test_micro_batch_1_x_accumulation_8_equals_8_x_1(alpha):
    seqs, weight = _toy_batch()
    counts = _global_counts(seqs)
    w_full = weight.clone().requires_grad_(True)
    loss_full = _micro_batch_loss(w_full, seqs, alpha, *counts)
    loss_full.backward()

    w_acc = weight.clone().requires_grad_(True)
    loss_acc = 0.0
    for s in seqs:  # 8 micro-batches of one sequence, gradients accumulated
        loss = _micro_batch_loss(w_acc, [s], alpha, *counts)
        loss.backward()
        loss_acc += loss.item()
    assert loss_acc == pytest.approx(loss_full.item(), rel=1e-12)
    torch.testing.assert_close(w_acc.grad, w_full.grad, rtol=1e-12, atol=1e-14)
    # and the value is the formula on the whole batch
    if alpha != "token_share":
        seg = torch.cat([s[2] for s in seqs])
        x = torch.cat([s[0] for s in seqs])
        y = torch.cat([s[1] for s in seqs])
        nll = -torch.log_softmax(x @ weight, -1).gather(-1, y[:, None]).squeeze(-1)
        expected = alpha * nll[seg == THINK].mean() + (1 - alpha) * nll[seg == CALL].mean()
        assert loss_full.item() == pytest.approx(expected.item(), rel=1e-12)


def _dp_worker(rank, world_size, port, result_path):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        seqs, weight = _toy_batch()
        local = seqs[rank::world_size]
        counts = torch.tensor(_global_counts(local))
        dist.all_reduce(counts)  # global segment counts, as SegmentCountingClient does
        w = weight.clone().requires_grad_(True)
        loss = _micro_batch_loss(w, local, 0.3, int(counts[0]), int(counts[1]), dp_size=world_size)
        loss.backward()
        dist.all_reduce(w.grad)
        w.grad /= world_size  # data parallelism averages gradients
        loss_t = loss.detach().clone()
        dist.all_reduce(loss_t)
        if rank == 0:
            torch.save({"grad": w.grad, "loss": loss_t / world_size}, result_path)
    finally:
        dist.destroy_process_group()


def test_two_ranks_with_gloo_equal_one_rank(tmp_path):
    from funrl.cpu import free_port

    result = tmp_path / "dp.pt"
    mp.spawn(_dp_worker, args=(2, free_port(), str(result)), nprocs=2, join=True)
    two = torch.load(result)
    seqs, weight = _toy_batch()
    w = weight.clone().requires_grad_(True)
    loss = _micro_batch_loss(w, seqs, 0.3, *_global_counts(seqs))
    loss.backward()
    # verl logs the AVG over ranks of the rank losses (each already multiplied by dp_size)
    assert two["loss"].item() == pytest.approx(loss.item(), rel=1e-12)
    torch.testing.assert_close(two["grad"], w.grad, rtol=1e-12, atol=1e-14)


# --- the verl adapter ----------------------------------------------------------------------------------


def test_token_share_adapter_equals_verl_sft_loss():
    """srml_sft_loss(alpha=token_share) on a verl micro-batch == verl's own sft_loss, value and gradient."""
    from verl.utils import tensordict_utils as tu
    from verl.workers.utils.losses import sft_loss

    from funrl.sft.trainer import NUM_CALL_KEY, NUM_THINK_KEY, srml_sft_loss

    g = torch.Generator().manual_seed(3)
    lengths = [7, 12, 9]
    loss_masks, segs, logps = [], [], []
    for n in lengths:
        mask = torch.zeros(n, dtype=torch.long)
        mask[3:] = 1  # prompt of 3 tokens
        seg = torch.where(mask.bool(), torch.where(torch.arange(n) < n - 2, THINK, CALL), IGNORE)
        loss_masks.append(mask)
        segs.append(seg)
        logps.append(-torch.rand(n, generator=g, dtype=torch.float64) * 5)
    num_tokens = sum(int(m.sum()) for m in loss_masks)

    def batch():
        data = tu.get_tensordict(
            {
                "loss_mask": torch.nested.as_nested_tensor(loss_masks, layout=torch.jagged),
                "segment_ids": torch.nested.as_nested_tensor(segs, layout=torch.jagged),
            },
            non_tensor_dict={"pad_mode": "no_padding"},
        )
        num_think = sum(int((s == THINK).sum()) for s in segs)
        num_call = sum(int((s == CALL).sum()) for s in segs)
        tu.assign_non_tensor(
            data, dp_size=1, batch_num_tokens=num_tokens, **{NUM_THINK_KEY: num_think, NUM_CALL_KEY: num_call}
        )
        return data

    flat_ref = torch.cat(logps).requires_grad_(True)
    flat_srml = torch.cat(logps).requires_grad_(True)
    offsets = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()])
    ref, _ = sft_loss(None, {"log_probs": torch.nested.nested_tensor_from_jagged(flat_ref, offsets)}, batch())
    ours, metrics = srml_sft_loss(
        None,
        {"log_probs": torch.nested.nested_tensor_from_jagged(flat_srml, offsets)},
        batch(),
        alpha="token_share",
    )
    ref.backward()
    ours.backward()
    assert ours.item() == pytest.approx(ref.item(), rel=1e-12)
    assert not math.isclose(ref.item(), 0.0)
    torch.testing.assert_close(flat_srml.grad, flat_ref.grad, rtol=1e-12, atol=1e-15)
    assert set(metrics) == {"srml/think_part", "srml/call_part"}


def test_adapter_without_segment_ids_names_the_dataset_class():
    from verl.utils import tensordict_utils as tu

    from funrl.sft.trainer import srml_sft_loss

    data = tu.get_tensordict(
        {"loss_mask": torch.nested.as_nested_tensor([torch.ones(3, dtype=torch.long)], layout=torch.jagged)},
        non_tensor_dict={"pad_mode": "no_padding"},
    )
    with pytest.raises(KeyError, match="SRMLSFTDataset"):
        srml_sft_loss(None, {"log_probs": None}, data, alpha=0.5)
