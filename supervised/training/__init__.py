"""The one supervised trainer of the chapter demos (chapters 12-13 and 17-39), one piece a module.

* `costs` - the costs (quadratic, cross-entropy, log-likelihood), the L2/L1 penalties and
  evaluation (chapters 13, 17-22);
* `gradients` - where a mini-batch's gradients come from: autograd, or chapter 16's
  backpropagation written out for a plain MLP that offers its layers;
* `steps` - the step rule that turns gradients into an update: SGD, momentum (chapter 30), Adam;
* `stopping` - what happens between epochs: a learning-rate schedule, halve-on-plateau
  (chapter 27), early stopping (chapter 28), a caller's callback;
* `history` - the per-epoch History, and `Arrays` for bare train/validation/test arrays;
* `loop` - `train`, which puts them together.

`supervised.trainer` re-exports the public names, so `from supervised.trainer import train` works.
"""
