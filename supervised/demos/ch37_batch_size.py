"""Chapters 37-39: batch size, learning rate, and the gradient step of a mini-batch.

The book's model (ch037.md:43-49): an MLP with 2 hidden layers of 1,024 ReLU units, negative
log-likelihood, plain SGD at learning rate 0.01, 30 epochs. Its runs, which this demo makes:

* chapter 37: mini-batch 64 reaches 100% on the training data and 98% on the test data; larger
  batches give lower accuracy (256, 1,024); mini-batch 2 reaches 99% (ch037.md:83);
* chapter 38: mini-batch 1,024 reaches only about 96%, and at a learning rate 10 times larger
  (0.1) 98% again (ch038.md:29); starting large does not trap the model: 1,024 for 30 epochs then
  64 for 30 more, or 1,024 with the learning rate raised 10x at epoch 31, both recover 98%
  (ch038.md:56-63);
* chapter 39: from a trained state (2 epochs at mini-batch 1,024; ch039.md:34, :45), each trial
  draws 1,024 training samples and trains through them once with mini-batch B, 1024/B steps, and
  sums the gradients of the last layer's weights over those steps (ch039.md:22-25; each step's
  gradient of the loss summed over its B samples, so every B adds up 1,024 per-example terms); the norm of
  that sum, averaged over trials, grows with B: "larger batches take larger gradient steps for
  the same number of samples seen" (ch039.md:51). B from 1 to 1,024 (ch039.md:28), 1,000 trials
  per B in the book (ch039.md:39, :42).

Under --quick everything is smaller (2x256 units, 2,000 images, 6 epochs, fewer B and trials):
the accuracies are then far from the book's, and the lines say so.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

import nets
from lab.i18n import N_, tr
from supervised.demos import Setting, register
from supervised.demos._training import data_reason, describe, fit, percent, setting, train_size
from supervised.trainer import cost_function

BOOK_HIDDEN, BOOK_LR, BOOK_EPOCHS = 1024, 0.01, 30  # ch037.md:43-49
BATCH_SIZES = (64, 256, 1024)  # ch037.md:73-77
BOOK_64_TRAIN, BOOK_64_TEST = 100.0, 98.0  # ch037.md:83
BOOK_2_TEST = 99.0  # ch037.md:83
BOOK_1024_TEST, BOOK_1024_FAST_TEST = 96.0, 98.0  # ch038.md:29 ("cerca de 96%"; lr 0.1: 98%)
BOOK_RECOVERED = 98.0  # ch038.md:63, after switching 1024 -> 64 or raising lr 10x at epoch 31
BOOK_GRADIENT_BATCHES = (1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 128, 256, 512, 1024)  # ch039.md:28
SAMPLES_SEEN = 1024  # ch039.md:25
#: How the runs other than plain 'batch_<B>' are named on screen (a run's key stays its TensorBoard tag).
SHOWN_RUN_NAMES = {"batch_1024_lr_0.1": N_("batch_1024_lr_0.1"), "batch_1024_then_64": N_("batch_1024_then_64"),
                   "batch_1024_lr_x10_later": N_("batch_1024_lr_x10_later")}


def _shown(run: str) -> str:
    """A run's name on screen, in English its key ('batch_64')."""
    if run in SHOWN_RUN_NAMES:
        return tr(SHOWN_RUN_NAMES[run])
    return tr("batch_{batch}").format(batch=run.removeprefix("batch_"))


def _percent(value: float) -> str:
    """An accuracy in percent with two decimals, in the output language's decimal mark."""
    return tr("{value:.2f}%").format(value=value)


def _relu_mlp(ctx, pixels: int, hidden: int) -> torch.nn.Module:
    torch.manual_seed(ctx.seed)
    return nets.build("mlp", sizes=[pixels, hidden, hidden, 10], activation="relu", init="default").to(ctx.device)


@register("ch37", "O Efeito do Batch Size / da Taxa de Aprendizagem / Lote e Gradiente (caps. 37-39)",
          "Batch size, learning rate and the mini-batch gradient (chapters 37-39)",
          settings=(Setting("train_size", None, 2_000, kind=int, low=100),
                    Setting("epochs", BOOK_EPOCHS, 6, low=1),
                    Setting("hidden", BOOK_HIDDEN, 256, low=1),
                    Setting("gradient_batches", BOOK_GRADIENT_BATCHES, (1, 4, 16, 64, 256, 1024), low=1, high=1024),
                    Setting("gradient_trials", 100, 4, low=2),
                    Setting("warm_epochs", 2, low=1)),
          covers=("ch38", "ch39"))
def demo(ctx) -> None:
    dataset = ctx.dataset()
    pixels = dataset.input_size
    n_train = setting(ctx, "train_size")
    epochs = setting(ctx, "epochs")
    hidden = setting(ctx, "hidden")
    data = describe(dataset, n_train, tr("2x{hidden} ReLU, log-likelihood, SGD, {epochs} epochs").format(
        hidden=hidden, epochs=epochs))
    reason = data_reason(ctx, dataset, n_train)
    if hidden != BOOK_HIDDEN or epochs != BOOK_EPOCHS:
        reason = (reason + "; " if reason else "") + tr(
            "2x{hidden} units and {epochs} epochs, the book: 2x1,024, 30").format(hidden=hidden, epochs=epochs)

    def run(name: str, batch: int, lr: float, model=None, steps: int = epochs):
        ctx.say(tr("{name}: mini-batch {batch}, lr {lr:g}, {epochs} epochs").format(
            name=_shown(name), batch=batch, lr=lr, epochs=steps))
        model = model if model is not None else _relu_mlp(ctx, pixels, hidden)
        return model, fit(ctx, model, dataset, name, cost="log_likelihood", lr=lr, batch_size=batch, epochs=steps,
                          train_subset=n_train, eval_sets=("train", "test"))

    histories = {f"batch_{b}": run(f"batch_{b}", b, BOOK_LR)[1] for b in (2, *BATCH_SIZES)}
    histories["batch_1024_lr_0.1"] = run("batch_1024_lr_0.1", 1024, 10 * BOOK_LR)[1]
    # Chapter 38: start with 1,024 for `epochs`, then go on for `epochs` more with 64, or with lr x10.
    switched, first = run("batch_1024_then_64", 1024, BOOK_LR)
    _, then = run("batch_1024_then_64", 64, BOOK_LR, model=switched)
    raised, first_raised = run("batch_1024_lr_x10_later", 1024, BOOK_LR)
    _, then_raised = run("batch_1024_lr_x10_later", 1024, 10 * BOOK_LR, model=raised)

    final = {name: percent(h.final("test_accuracy")) for name, h in histories.items()}
    judged = dict(data=data, reason=reason)
    ctx.report(tr("batch 64, lr 0.01: train accuracy"), f"{BOOK_64_TRAIN:.0f}%",
               _percent(percent(histories['batch_64'].final('train_accuracy'))), **judged)
    ctx.report(tr("batch 64, lr 0.01: test accuracy"), f"{BOOK_64_TEST:.0f}%", _percent(final['batch_64']), **judged)
    ctx.report(tr("batch 2, lr 0.01: test accuracy"), f"{BOOK_2_TEST:.0f}%", _percent(final['batch_2']), **judged)
    ctx.report(tr("batch 1024, lr 0.01: test accuracy"), tr("about {value:.0f}%").format(value=BOOK_1024_TEST),
               _percent(final['batch_1024']), **judged)
    ctx.report(tr("batch 1024, lr 0.1: test accuracy"), f"{BOOK_1024_FAST_TEST:.0f}%",
               _percent(final['batch_1024_lr_0.1']), **judged)
    ctx.report(tr("batch 1024 for {epochs} epochs, then 64 for {epochs}: test accuracy").format(epochs=epochs),
               f"{BOOK_RECOVERED:.0f}%",
               f"{_percent(percent(first.final('test_accuracy')))} -> {_percent(percent(then.final('test_accuracy')))}",
               **judged)
    ctx.report(tr("batch 1024, lr x10 at epoch {epoch}: test accuracy").format(epoch=epochs + 1), f"{BOOK_RECOVERED:.0f}%",
               f"{_percent(percent(first_raised.final('test_accuracy')))} -> "
               f"{_percent(percent(then_raised.final('test_accuracy')))}", **judged)
    ordered = [final[f"batch_{b}"] for b in (2, *BATCH_SIZES)]
    falling = all(a >= b for a, b in zip(ordered, ordered[1:]))
    ctx.report(tr("test accuracy by mini-batch 2 / 64 / 256 / 1024 at lr 0.01"), tr("larger batches: lower accuracy"),
               " / ".join(_percent(a) for a in ordered), data=data, matches=falling,
               reason="" if falling else tr("the accuracy did not fall with every larger batch here"))
    recovers = final["batch_1024_lr_0.1"] > final["batch_1024"]
    ctx.report(tr("batch 1024: lr 0.01 -> 0.1 (test accuracy)"), tr("a 10x larger lr recovers the accuracy"),
               f"{_percent(final['batch_1024'])} -> {_percent(final['batch_1024_lr_0.1'])}", data=data,
               matches=recovers, reason="" if recovers else tr("lr 0.1 did not raise batch 1024's accuracy here"))
    then_64, raised_later = tr("1024 then 64"), tr("1024, lr x10 later")
    ctx.table("test_accuracy_by_run", [tr("run"), tr("train accuracy"), tr("test accuracy")],
              [[_shown(name), percent(h.final("train_accuracy")), percent(h.final("test_accuracy"))]
               for name, h in histories.items()]
              + [[then_64, percent(then.final("train_accuracy")), percent(then.final("test_accuracy"))],
                 [raised_later, percent(then_raised.final("train_accuracy")),
                  percent(then_raised.final("test_accuracy"))]])
    _plot_training(ctx, dataset.name, histories, {then_64: (first, then), tr("1024, lr x10"): (first_raised,
                                                                                               then_raised)})
    _gradient_steps(ctx, dataset, pixels, n_train, hidden)


def summed_last_layer_gradient(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int,
                               lr: float) -> torch.Tensor:
    """Train `model` once through `images` with mini-batch `batch` (len(images)/batch SGD steps)
    and return the sum of the steps' gradients of the last layer's weights (chapter 39).

    Each step moves the weights by lr times its mean gradient; what is summed is each step's
    gradient of the summed (not averaged) loss, so every B adds up 1,024 per-example gradients
    and only the weights they are taken at differ: with small B the model has moved (learned)
    more within the 1,024 samples."""
    params = list(model.parameters())
    last = next(i for i, p in enumerate(params) if p is model.layers[-1].weight)
    total = torch.zeros_like(params[last])
    for start in range(0, len(labels), batch):
        loss = cost_function("log_likelihood", model(images[start:start + batch]), labels[start:start + batch])
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            total += grads[last] * len(labels[start:start + batch])  # the step's per-example gradients, summed
            torch._foreach_add_(params, list(grads), alpha=-lr)
    return total


def _gradient_steps(ctx, dataset, pixels: int, n_train: int | None, hidden: int) -> None:
    """Chapter 39: norm of the summed last-layer gradient over 1,024 samples, by mini-batch size."""
    sizes = setting(ctx, "gradient_batches")
    trials = setting(ctx, "gradient_trials")
    warm_epochs = setting(ctx, "warm_epochs")
    n = train_size(dataset, n_train)
    model = _relu_mlp(ctx, pixels, hidden)
    fit(ctx, model, dataset, "ch39_trained_state", cost="log_likelihood", lr=BOOK_LR, batch_size=1024,
        epochs=warm_epochs, train_subset=n_train, eval_sets=())
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    images = torch.as_tensor(dataset.train[0][:n], device=ctx.device)
    labels = torch.as_tensor(dataset.train[1][:n], device=ctx.device)
    generator = torch.Generator().manual_seed(ctx.seed)
    means, spreads = [], []
    for batch in sizes:
        norms = []
        for _ in range(trials):
            model.load_state_dict(trained)
            index = torch.randperm(n, generator=generator)[:SAMPLES_SEEN].to(ctx.device)
            norms.append(float(summed_last_layer_gradient(model, images[index], labels[index], batch, BOOK_LR).norm()))
        means.append(float(np.mean(norms)))
        spreads.append(float(np.std(norms)))
        ctx.logger.scalars(batch, {"ch39/summed_gradient_norm_mean": means[-1], "ch39/summed_gradient_norm_std":
                                   spreads[-1]})
    correlation = float(np.corrcoef(np.log(sizes), means)[0, 1])
    grows = means[-1] > means[0] and correlation > 0.8
    data = tr("{data}; 2x{hidden} ReLU after {warm_epochs} epochs at batch 1024; {trials} trials per B").format(
        data=describe(dataset, n_train), hidden=hidden, warm_epochs=warm_epochs, trials=trials)
    ctx.report(tr("mean |sum of last-layer gradients| over 1,024 samples, B = {sizes}").format(
                   sizes=" / ".join(map(str, sizes))),
               tr("grows with B (larger batches, larger steps)"),
               " / ".join(tr("{norm:.3g}").format(norm=m) for m in means)
               + tr("; corr(log B, norm) = {correlation:.2f}").format(correlation=correlation), data=data,
               matches=grows, reason="" if grows else tr("the norm did not grow with B here"))
    ctx.table("ch39_summed_gradient_norm", ["B", tr("steps"), tr("mean norm"), tr("std")],
              [[b, SAMPLES_SEEN // b, m, s] for b, m, s in zip(sizes, means, spreads)])

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(sizes, means, yerr=spreads, marker="o", capsize=3)
    ax.set(xscale="log", xlabel=tr("mini-batch size B (1024/B steps)"), ylabel=tr("|sum of last-layer gradients|"),
           title=tr("chapter 39: same 1,024 samples seen ({data})").format(data=dataset.name))
    ctx.plot("gradient_vs_batch_size", fig)
    plt.close(fig)


def _plot_training(ctx, data_name: str, histories: dict, continued: dict) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, history in histories.items():
        axis = range(1, history.epochs + 1)
        axes[0].plot(axis, history.train_cost, marker=".", label=_shown(name))
        axes[1].plot(axis, [100 * a for a in history.test_accuracy], marker=".", label=_shown(name))
    for name, (first, then) in continued.items():
        accuracy = [100 * a for a in first.test_accuracy + then.test_accuracy]
        axes[1].plot(range(1, len(accuracy) + 1), accuracy, "--", label=name)
        axes[0].plot(range(1, len(accuracy) + 1), first.train_cost + then.train_cost, "--", label=name)
    axes[0].set(xlabel=tr("epoch"), ylabel=tr("training loss"), yscale="log",
                title=tr("batch size and lr ({data})").format(data=data_name))
    axes[1].set(xlabel=tr("epoch"), ylabel=tr("test accuracy (%)"))
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    ctx.plot("batch_size_training", fig)
    plt.close(fig)
