"""Costs, penalties and evaluation of the supervised chapters.

The quadratic cost of chapter 13, the cross-entropy of chapters 17-18 (sigmoid outputs) and the
log-likelihood of softmax outputs (chapter 18); the L2 and L1 penalties of chapters 20-22 on the
weights only; accuracy and mean cost over a whole set.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from supervised.training.errors import check_choice

COSTS = ("quadratic", "cross_entropy", "log_likelihood")
#: Images per forward pass when measuring accuracy and cost (no gradients, so big is cheap).
EVAL_CHUNK = 10_000


def cost_function(name: str, outputs: torch.Tensor, labels: torch.Tensor,
                  one_hot: torch.Tensor | None = None) -> torch.Tensor:
    """Mean per-example cost of a mini-batch, from the output layer's weighted inputs z.

    quadratic: mean_x 1/2 ||sigmoid(z) - y||^2; cross_entropy: mean_x of the binary
    cross-entropy of sigmoid(z) against the one-hot y, summed over outputs; log_likelihood:
    mean_x -ln softmax(z)_label.
    """
    check_choice("cost", name, COSTS)
    if name == "log_likelihood":
        return F.cross_entropy(outputs, labels)
    if one_hot is None:
        one_hot = F.one_hot(labels, outputs.shape[1]).to(outputs.dtype)
    if name == "quadratic":
        return 0.5 * (torch.sigmoid(outputs) - one_hot).square().sum() / len(outputs)
    # The logits form is the same sum as -[y ln a + (1-y) ln(1-a)], without overflow.
    return F.binary_cross_entropy_with_logits(outputs, one_hot, reduction="sum") / len(outputs)


def weight_parameters(model: nn.Module) -> list[torch.Tensor]:
    """The weights the penalties act on: every parameter named '*weight' with 2+ dimensions.

    Biases (and 1-D scales) are left alone, as in chapter 20.
    """
    return [p for name, p in model.named_parameters() if name.endswith("weight") and p.dim() >= 2]


def regularization_penalty(model: nn.Module, n_train: int, l2: float = 0.0, l1: float = 0.0) -> torch.Tensor:
    """(l2/2n) sum w^2 + (l1/n) sum |w| over the weights (not the biases)."""
    weights = weight_parameters(model)
    penalty = torch.zeros(())
    if l2:
        penalty = penalty + l2 / (2 * n_train) * sum(w.square().sum() for w in weights)
    if l1:
        penalty = penalty + l1 / n_train * sum(w.abs().sum() for w in weights)
    return penalty


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, cost: str = "cross_entropy",
             chunk: int = EVAL_CHUNK) -> tuple[float, float]:
    """(mean cost, accuracy in [0, 1]) of `model` on a whole set, in eval mode (dropout off)."""
    was_training = model.training
    model.eval()
    total_cost, correct = 0.0, 0
    for start in range(0, len(labels), chunk):
        outputs = model(images[start:start + chunk])
        batch_labels = labels[start:start + chunk]
        total_cost += float(cost_function(cost, outputs, batch_labels)) * len(batch_labels)
        correct += int((outputs.argmax(dim=1) == batch_labels).sum())
    model.train(was_training)
    count = max(len(labels), 1)
    return total_cost / count, correct / count


def accuracy(model: nn.Module, images: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
             device: str | torch.device = "cpu") -> float:
    """Fraction of `images` that `model` classifies correctly (a convenience for demos)."""
    x, y = as_tensors(images, labels, torch.device(device))
    return evaluate(model, x, y)[1]



def as_tensors(images: Any, labels: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(float32 images, int64 labels) on `device`, from numpy arrays or tensors."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32) if not torch.is_tensor(images) else images)
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64) if not torch.is_tensor(labels) else labels)
    return x.to(device, torch.float32), y.to(device, torch.int64)
