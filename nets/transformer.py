"""Transformers written out step by step (chapters 76-90: attention, BERT, GPT, layer norm).

The pieces, each small enough to read against the book:

* :func:`sinusoidal_positions` - the fixed sine/cosine position code of Vaswani et al.;
* :func:`scaled_dot_product_attention` - softmax(Q K^T / sqrt(d_k) + mask) V, the math in
  plain tensor operations (no ``nn.MultiheadAttention``);
* :func:`causal_mask` and :func:`padding_mask` - which keys each query may look at
  (``True`` = allowed): no peeking at later tokens (GPT), no attending to padding (BERT);
* :class:`MultiHeadAttention` - h heads of attention side by side;
* :class:`EncoderBlock` and :class:`DecoderBlock` with ``norm="post"`` (the original
  transformer and BERT: x = LN(x + sublayer(x)), chapter 89) or ``norm="pre"`` (GPT-2:
  x = x + sublayer(LN(x)), with one more LN at the end of the stack);
* three whole models: :class:`TransformerEncoder` (BERT-like: a pooled or per-token output),
  :class:`TransformerDecoder` (GPT-like: causal per-token logits) and
  :class:`TransformerSeq2Seq` (encoder-decoder with cross-attention), built by name through
  :func:`transformer` as ``nets.build("transformer", mode=..., ...)``.

Inputs are token ids (``vocab_size``) or continuous feature vectors (``input_dim``), so an
encoder can also summarise a sequence of frames or features for an agent.

What the book's models add on top (chapters 77-82):

* ``positions="learned"`` - a trained position table (BERT, GPT) instead of the sines;
* ``n_segments`` - BERT's sentence A / sentence B embedding, "token embeddings with a
  vocabulary of 2" (chapter 78), passed as ``segments`` to ``forward``;
* ``tie_embeddings`` - the output layer multiplies the hidden vectors by the token
  embedding matrix (BERT's masked-LM output, GPT's next-token output) through
  :class:`TiedOutput`, so the vocabulary matrix is stored once;
* :func:`attention_maps` - every attention layer's last weights, for plots;
* :func:`parameter_count` - build a configuration on the meta device (no memory is
  allocated, so GPT-3's 175 billion parameters can be counted on a laptop).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lab.checks import require, shown, within
from lab.i18n import tr

from nets.activations import make_activation
from nets.heads import ClassifierHead
from nets.registry import NetError, check_choice, register

MODE_CHOICES: tuple[str, ...] = ("encoder", "decoder", "encoder_decoder")
NORM_CHOICES: tuple[str, ...] = ("post", "pre")
OUTPUT_CHOICES: tuple[str, ...] = ("pooled", "sequence")
POOL_CHOICES: tuple[str, ...] = ("first", "mean")
POSITION_CHOICES: tuple[str, ...] = ("sinusoidal", "learned")


# --- masks and attention --------------------------------------------------------------------

def causal_mask(length: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(length, length) bool mask, True where query t may attend to key s, i.e. s <= t."""
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


def padding_mask(is_padding: torch.Tensor) -> torch.Tensor:
    """Turn (B, T_k) "this key is padding" flags into a (B, 1, 1, T_k) allowed-keys mask."""
    return (~is_padding.bool())[:, None, None, :]


def _combine(first: torch.Tensor | None, second: torch.Tensor | None) -> torch.Tensor | None:
    if first is None:
        return second
    if second is None:
        return first
    return first & second


def scaled_dot_product_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout: nn.Module | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q K^T / sqrt(d_k)) V over the last two dimensions; returns (output, weights).

    ``mask`` broadcasts to (..., T_q, T_k); False entries get (almost) zero weight.  The
    lowest finite number is used instead of -inf so that a query with no allowed key gets
    uniform weights rather than NaN (its output is then ignored by the caller anyway).
    """
    d_k = query.size(-1)
    scores = query @ key.transpose(-2, -1) / math.sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = scores.softmax(dim=-1)
    if dropout is not None:
        weights = dropout(weights)
    return weights @ value, weights


def check_divisible(d_model: int, n_heads: int) -> None:
    """Each head attends over d_model / n_heads of the model's width: it must divide evenly."""
    require(d_model % n_heads == 0, tr("d_model ({d_model}) must be divisible by n_heads ({n_heads})").format(
        d_model=d_model, n_heads=n_heads), NetError)


class MultiHeadAttention(nn.Module):
    """Project to ``n_heads`` sets of (Q, K, V) of width d_model / n_heads, attend, merge.

    The key projection has no bias: adding the same vector to every key shifts all scores
    of one query by the same amount, which softmax ignores, so such a bias never learns.
    The last attention weights are kept in ``attention_weights`` (B, heads, T_q, T_k) for
    plots.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        check_divisible(d_model, n_heads)
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model, bias=False)
        self.value = nn.Linear(d_model, d_model)
        self.output = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)
        self.attention_weights: torch.Tensor | None = None

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.n_heads, self.d_head).transpose(1, 2)

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Queries from ``x`` (B, T_q, d); keys and values from ``context`` (default: x)."""
        context = x if context is None else context
        query = self._split_heads(self.query(x))
        key = self._split_heads(self.key(context))
        value = self._split_heads(self.value(context))
        attended, weights = scaled_dot_product_attention(query, key, value, mask, self.dropout)
        self.attention_weights = weights.detach()
        batch, _, length, _ = attended.shape
        merged = attended.transpose(1, 2).reshape(batch, length, self.n_heads * self.d_head)
        return self.output(merged)


class FeedForward(nn.Module):
    """Position-wise two-layer network d_model -> d_ff -> d_model."""

    def __init__(self, d_model: int, d_ff: int, activation: str = "gelu",
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.expand = nn.Linear(d_model, d_ff)
        self.activation = make_activation(activation)
        self.contract = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.contract(self.dropout(self.activation(self.expand(x))))


# --- blocks ---------------------------------------------------------------------------------

class EncoderBlock(nn.Module):
    """Self-attention then feed-forward, each wrapped in a residual connection and LayerNorm.

    Used by the encoder (with a padding mask) and by the GPT-like decoder (with a causal
    mask): a decoder-only model needs no cross-attention.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0,
                 norm: str = "post", activation: str = "gelu") -> None:
        super().__init__()
        check_choice("norm", norm, NORM_CHOICES)
        self.pre_norm = norm == "pre"
        self.self_attention = MultiHeadAttention(d_model, n_heads, dropout)
        self.feed_forward = FeedForward(d_model, d_ff, activation, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.dropout(self.self_attention(self.norm1(x), mask=mask))
            return x + self.dropout(self.feed_forward(self.norm2(x)))
        x = self.norm1(x + self.dropout(self.self_attention(x, mask=mask)))
        return self.norm2(x + self.dropout(self.feed_forward(x)))


class DecoderBlock(nn.Module):
    """Masked self-attention, cross-attention to the encoder output, feed-forward."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0,
                 norm: str = "post", activation: str = "gelu") -> None:
        super().__init__()
        check_choice("norm", norm, NORM_CHOICES)
        self.pre_norm = norm == "pre"
        self.self_attention = MultiHeadAttention(d_model, n_heads, dropout)
        self.cross_attention = MultiHeadAttention(d_model, n_heads, dropout)
        self.feed_forward = FeedForward(d_model, d_ff, activation, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor,
                self_mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.dropout(self.self_attention(self.norm1(x), mask=self_mask))
            x = x + self.dropout(self.cross_attention(self.norm2(x), memory, memory_mask))
            return x + self.dropout(self.feed_forward(self.norm3(x)))
        x = self.norm1(x + self.dropout(self.self_attention(x, mask=self_mask)))
        x = self.norm2(x + self.dropout(self.cross_attention(x, memory, memory_mask)))
        return self.norm3(x + self.dropout(self.feed_forward(x)))


class InputEmbedding(nn.Module):
    """Token embedding (scaled by sqrt(d_model)) or a linear map of feature vectors, plus
    position codes (the fixed sines, or a learned table) and optionally BERT's segment
    embedding.  Exactly one of ``vocab_size`` and ``input_dim`` is given."""

    def __init__(self, d_model: int, max_len: int, dropout: float = 0.0,
                 vocab_size: int | None = None, input_dim: int | None = None,
                 positions: str = "sinusoidal", n_segments: int = 0) -> None:
        super().__init__()
        if (vocab_size is None) == (input_dim is None):
            raise NetError(tr("transformer needs exactly one of vocab_size (token ids) and input_dim (feature "
                              "vectors); got vocab_size={vocab_size}, input_dim={input_dim}").format(
                vocab_size=shown(vocab_size), input_dim=shown(input_dim)))
        check_choice("positions", positions, POSITION_CHOICES)
        self.d_model = d_model
        self.max_len = max_len
        self.tokens = nn.Embedding(vocab_size, d_model) if vocab_size is not None else None
        self.features = nn.Linear(input_dim, d_model) if input_dim is not None else None
        if positions == "learned":
            self.learned_positions: nn.Embedding | None = nn.Embedding(max_len, d_model)
        else:
            self.learned_positions = None
            # Derived from the shapes alone, so it is not saved in checkpoints.
            self.register_buffer("positions", sinusoidal_positions(max_len, d_model),
                                 persistent=False)
        self.segments = nn.Embedding(n_segments, d_model) if n_segments else None
        self.dropout = nn.Dropout(dropout)

    @property
    def takes_tokens(self) -> bool:
        return self.tokens is not None

    def position_codes(self, length: int) -> torch.Tensor:
        """(length, d_model): what is added to the token at each position."""
        if self.learned_positions is not None:
            return self.learned_positions.weight[:length]
        return self.positions[:length]

    def forward(self, x: torch.Tensor, segments: torch.Tensor | None = None) -> torch.Tensor:
        length = x.size(1)
        if length > self.max_len:
            raise NetError(tr("sequence length {length} exceeds the transformer's max_len {max_len}; build it "
                              "with a larger max_len").format(length=length, max_len=self.max_len))
        if self.tokens is not None:
            embedded = self.tokens(x) * math.sqrt(self.d_model)
        else:
            embedded = self.features(x.float())
        embedded = embedded + self.position_codes(length)
        if self.segments is not None:
            # No segment ids means every token belongs to sentence A.
            embedded = embedded + self.segments(segments if segments is not None
                                                else torch.zeros_like(x[..., 0] if x.dim() == 3
                                                                      else x, dtype=torch.long))
        elif segments is not None:
            raise NetError(tr("segments given to a transformer built without n_segments"))
        return self.dropout(embedded)


class TiedOutput(nn.Module):
    """Logits = h E^T (+ b): the output layer reuses the token embedding matrix E.

    Chapter 78: BERT's masked-LM output multiplies "the output vectors by the embedding
    matrix, turning them into the vocabulary dimension"; GPT does the same for the next
    token.  E is not copied: the embedding module is only referenced here, so
    ``parameters()`` lists it once and the parameter count is that of one vocabulary matrix.
    """

    def __init__(self, embedding: nn.Embedding, bias: bool = False) -> None:
        super().__init__()
        # Held outside the module tree: the owner registers (and moves, saves) it, so the
        # state dict names the matrix once and safetensors sees no shared storage.
        object.__setattr__(self, "embedding", embedding)
        self.bias = nn.Parameter(torch.zeros(embedding.num_embeddings)) if bias else None
        self.out_features = embedding.num_embeddings

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = hidden @ self.embedding.weight.T
        return logits if self.bias is None else logits + self.bias


def _tie_init_(embedding: nn.Embedding) -> None:
    """N(0, 1/d) entries: the sqrt(d)-scaled input embedding has unit variance per
    component and the tied logits h E^T start near unit variance too (with N(0, 1) the
    logits would start at a spread of sqrt(d), a needlessly confident first guess)."""
    nn.init.normal_(embedding.weight, std=embedding.embedding_dim ** -0.5)


def _make_output(embedding: InputEmbedding, d_model: int, n_outputs: int | None,
                 tie: bool) -> nn.Module | None:
    if not tie:
        return ClassifierHead(d_model, n_outputs) if n_outputs else None
    if embedding.tokens is None:
        raise NetError(tr("tie_embeddings needs token inputs (vocab_size), not input_dim"))
    if n_outputs not in (None, embedding.tokens.num_embeddings):
        raise NetError(tr("tie_embeddings predicts the {tokens} tokens of the vocabulary; n_outputs={n_outputs} "
                          "does not match").format(tokens=embedding.tokens.num_embeddings, n_outputs=n_outputs))
    _tie_init_(embedding.tokens)
    return TiedOutput(embedding.tokens)


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """(length, d_model): PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(same)."""
    positions = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    frequencies = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32)
                            * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(positions * frequencies)
    table[:, 1::2] = torch.cos(positions * frequencies[: d_model // 2])
    return table


# --- whole models ---------------------------------------------------------------------------

class TransformerEncoder(nn.Module):
    """BERT-like encoder: embedding, N encoder blocks, then a pooled or per-token output.

    ``forward(x, is_padding=None)``: x is (B, T) token ids or (B, T, input_dim) features;
    ``is_padding`` (B, T) marks padded positions (derived from ``pad_id`` for tokens when
    not given).  Returns (B, n_outputs) for ``output="pooled"`` (the first token, as BERT's
    [CLS], or the mean over non-padded tokens) or (B, T, n_outputs) for ``"sequence"``;
    ``n_outputs=None`` returns d_model features instead.
    """

    def __init__(self, *, d_model: int, n_heads: int, n_layers: int, d_ff: int,
                 dropout: float, max_len: int, norm: str, activation: str,
                 vocab_size: int | None, input_dim: int | None, n_outputs: int | None,
                 output: str, pool: str, pad_id: int | None, positions: str = "sinusoidal",
                 n_segments: int = 0, tie_embeddings: bool = False) -> None:
        super().__init__()
        self.embedding = InputEmbedding(d_model, max_len, dropout, vocab_size, input_dim,
                                        positions, n_segments)
        self.blocks = nn.ModuleList(
            EncoderBlock(d_model, n_heads, d_ff, dropout, norm, activation)
            for _ in range(n_layers)
        )
        self.final_norm = nn.LayerNorm(d_model) if norm == "pre" else nn.Identity()
        self.output = output
        self.pool = pool
        self.pad_id = pad_id
        if tie_embeddings and output != "sequence":
            raise NetError(tr("tie_embeddings predicts a token at every position: it needs output='sequence'"))
        self.head = _make_output(self.embedding, d_model, n_outputs, tie_embeddings)
        self.out_features = self.head.out_features if self.head is not None else d_model

    def encode(self, x: torch.Tensor, is_padding: torch.Tensor | None = None,
               segments: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return the (B, T, d_model) hidden states and the padding flags used."""
        is_padding = _padding_flags(x, is_padding, self.pad_id, self.embedding.takes_tokens)
        mask = padding_mask(is_padding) if is_padding is not None else None
        hidden = self.embedding(x, segments)
        for block in self.blocks:
            hidden = block(hidden, mask)
        return self.final_norm(hidden), is_padding

    def forward(self, x: torch.Tensor, is_padding: torch.Tensor | None = None,
                segments: torch.Tensor | None = None) -> torch.Tensor:
        hidden, is_padding = self.encode(x, is_padding, segments)
        if self.output == "pooled":
            hidden = _pool(hidden, is_padding, self.pool)
        return hidden if self.head is None else self.head(hidden)


class TransformerDecoder(nn.Module):
    """GPT-like decoder-only model: causal self-attention blocks, per-token outputs.

    ``forward(x, is_padding=None)`` -> (B, T, n_outputs): output t depends on inputs 0..t
    only.  For token inputs ``n_outputs`` defaults to ``vocab_size`` (next-token logits).
    """

    def __init__(self, *, d_model: int, n_heads: int, n_layers: int, d_ff: int,
                 dropout: float, max_len: int, norm: str, activation: str,
                 vocab_size: int | None, input_dim: int | None, n_outputs: int | None,
                 pad_id: int | None, positions: str = "sinusoidal",
                 tie_embeddings: bool = False) -> None:
        super().__init__()
        self.embedding = InputEmbedding(d_model, max_len, dropout, vocab_size, input_dim,
                                        positions)
        self.blocks = nn.ModuleList(
            EncoderBlock(d_model, n_heads, d_ff, dropout, norm, activation)
            for _ in range(n_layers)
        )
        self.final_norm = nn.LayerNorm(d_model) if norm == "pre" else nn.Identity()
        self.pad_id = pad_id
        n_outputs = n_outputs if n_outputs else vocab_size
        self.head = _make_output(self.embedding, d_model, n_outputs, tie_embeddings)
        self.out_features = self.head.out_features if self.head is not None else d_model

    def hidden_states(self, x: torch.Tensor, is_padding: torch.Tensor | None = None
                      ) -> torch.Tensor:
        """(B, T, d_model) after the last block: position t has seen tokens 0..t only."""
        is_padding = _padding_flags(x, is_padding, self.pad_id, self.embedding.takes_tokens)
        mask = causal_mask(x.size(1), x.device)
        if is_padding is not None:
            mask = _combine(mask, padding_mask(is_padding))
        hidden = self.embedding(x)
        for block in self.blocks:
            hidden = block(hidden, mask)
        return self.final_norm(hidden)

    def forward(self, x: torch.Tensor, is_padding: torch.Tensor | None = None) -> torch.Tensor:
        hidden = self.hidden_states(x, is_padding)
        return hidden if self.head is None else self.head(hidden)


class TransformerSeq2Seq(nn.Module):
    """Encoder-decoder: the decoder attends causally to its own tokens and, through
    cross-attention, to the whole encoded source.

    ``forward(source, target, source_padding=None, target_padding=None)`` ->
    (B, T_target, n_outputs) logits for the next target token at each position.  The target
    is always token ids (``target_vocab_size``, default ``vocab_size``); the source may be
    tokens or features.
    """

    def __init__(self, *, d_model: int, n_heads: int, n_layers: int, d_ff: int,
                 dropout: float, max_len: int, norm: str, activation: str,
                 vocab_size: int | None, input_dim: int | None, target_vocab_size: int,
                 n_outputs: int | None, pad_id: int | None, positions: str = "sinusoidal",
                 tie_embeddings: bool = False) -> None:
        super().__init__()
        self.source_embedding = InputEmbedding(d_model, max_len, dropout, vocab_size, input_dim,
                                               positions)
        if tie_embeddings and vocab_size == target_vocab_size:
            # Vaswani et al. share one matrix between both embeddings and the output layer.
            self.target_embedding = self.source_embedding
        else:
            self.target_embedding = InputEmbedding(d_model, max_len, dropout,
                                                   target_vocab_size, None, positions)
        self.encoder_blocks = nn.ModuleList(
            EncoderBlock(d_model, n_heads, d_ff, dropout, norm, activation)
            for _ in range(n_layers)
        )
        self.decoder_blocks = nn.ModuleList(
            DecoderBlock(d_model, n_heads, d_ff, dropout, norm, activation)
            for _ in range(n_layers)
        )
        self.encoder_norm = nn.LayerNorm(d_model) if norm == "pre" else nn.Identity()
        self.decoder_norm = nn.LayerNorm(d_model) if norm == "pre" else nn.Identity()
        self.pad_id = pad_id
        n_outputs = n_outputs if n_outputs else target_vocab_size
        self.head = _make_output(self.target_embedding, d_model, n_outputs, tie_embeddings)
        self.out_features = n_outputs

    def encode(self, source: torch.Tensor, source_padding: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return the encoder output ("memory") and the source padding flags used."""
        source_padding = _padding_flags(source, source_padding, self.pad_id,
                                        self.source_embedding.takes_tokens)
        mask = padding_mask(source_padding) if source_padding is not None else None
        memory = self.source_embedding(source)
        for block in self.encoder_blocks:
            memory = block(memory, mask)
        return self.encoder_norm(memory), source_padding

    def decode(self, target: torch.Tensor, memory: torch.Tensor,
               source_padding: torch.Tensor | None = None,
               target_padding: torch.Tensor | None = None) -> torch.Tensor:
        """Logits for each target position given the encoded source (for greedy decoding)."""
        target_padding = _padding_flags(target, target_padding, self.pad_id, True)
        self_mask = causal_mask(target.size(1), target.device)
        if target_padding is not None:
            self_mask = _combine(self_mask, padding_mask(target_padding))
        memory_mask = padding_mask(source_padding) if source_padding is not None else None
        hidden = self.target_embedding(target)
        for block in self.decoder_blocks:
            hidden = block(hidden, memory, self_mask, memory_mask)
        return self.head(self.decoder_norm(hidden))

    def forward(self, source: torch.Tensor, target: torch.Tensor,
                source_padding: torch.Tensor | None = None,
                target_padding: torch.Tensor | None = None) -> torch.Tensor:
        memory, source_padding = self.encode(source, source_padding)
        return self.decode(target, memory, source_padding, target_padding)


def _padding_flags(x: torch.Tensor, is_padding: torch.Tensor | None, pad_id: int | None,
                   takes_tokens: bool) -> torch.Tensor | None:
    if is_padding is not None:
        return is_padding.bool()
    if pad_id is not None and takes_tokens:
        return x == pad_id
    return None


def _pool(hidden: torch.Tensor, is_padding: torch.Tensor | None, pool: str) -> torch.Tensor:
    if pool == "first":
        return hidden[:, 0]
    if is_padding is None:
        return hidden.mean(dim=1)
    keep = (~is_padding).unsqueeze(-1).to(hidden.dtype)
    return (hidden * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)


@register("transformer", "transformer written out: mode encoder (BERT-like), decoder "
                         "(GPT-like, causal) or encoder_decoder; post/pre LayerNorm; tokens "
                         "or feature vectors (chapters 76-90)")
def transformer(
    *,
    mode: str = "encoder",
    vocab_size: int | None = None,
    input_dim: int | None = None,
    d_model: int = 64,
    n_heads: int = 4,
    n_layers: int = 2,
    d_ff: int | None = None,
    dropout: float = 0.0,
    max_len: int = 512,
    norm: str = "post",
    activation: str = "gelu",
    n_outputs: int | None = None,
    output: str | None = None,
    pool: str = "first",
    pad_id: int | None = None,
    target_vocab_size: int | None = None,
    positions: str = "sinusoidal",
    n_segments: int = 0,
    tie_embeddings: bool = False,
) -> nn.Module:
    """Build a transformer model.

    ``mode``: ``"encoder"`` -> :class:`TransformerEncoder` (``output`` pooled (default) or
    sequence, ``pool`` first or mean); ``"decoder"`` -> :class:`TransformerDecoder`;
    ``"encoder_decoder"`` -> :class:`TransformerSeq2Seq`.  ``d_ff`` defaults to 4 * d_model.
    ``pad_id`` marks padding tokens so attention ignores them.  ``positions``: sinusoidal
    (fixed) or learned; ``n_segments`` (encoder only): BERT's sentence A/B embedding;
    ``tie_embeddings``: the output layer is the token embedding matrix (per-token outputs).
    """
    check_choice("mode", mode, MODE_CHOICES)
    check_choice("norm", norm, NORM_CHOICES)
    check_choice("pool", pool, POOL_CHOICES)
    check_choice("positions", positions, POSITION_CHOICES)
    if n_segments and mode != "encoder":
        raise NetError(tr("n_segments (sentence A/B embeddings, BERT) is an encoder option; mode is {mode}").format(
            mode=repr(mode)))
    make_activation(activation)  # validates the name before any block is built
    check_divisible(d_model, n_heads)
    within("dropout", float(dropout), 0, 1, high_open=True, error=NetError)
    if mode != "encoder" and output not in (None, "sequence"):
        raise NetError(tr("transformer mode {mode} gives per-token outputs; output must be 'sequence' (or left "
                          "unset), got {output}").format(mode=repr(mode), output=shown(output)))
    output = output or ("pooled" if mode == "encoder" else "sequence")
    check_choice("output", output, OUTPUT_CHOICES)
    common = dict(d_model=d_model, n_heads=n_heads, n_layers=n_layers,
                  d_ff=d_ff if d_ff else 4 * d_model, dropout=float(dropout), max_len=max_len,
                  norm=norm, activation=activation, vocab_size=vocab_size,
                  input_dim=input_dim, n_outputs=n_outputs, pad_id=pad_id,
                  positions=positions, tie_embeddings=bool(tie_embeddings))
    if mode == "encoder":
        return TransformerEncoder(output=output, pool=pool, n_segments=int(n_segments),
                                  **common)
    if mode == "decoder":
        return TransformerDecoder(**common)
    target_vocab_size = target_vocab_size or vocab_size
    if not target_vocab_size:
        raise NetError(tr("transformer mode 'encoder_decoder' needs target_vocab_size (the target is token ids) "
                          "when the source is feature vectors"))
    return TransformerSeq2Seq(target_vocab_size=target_vocab_size, **common)


# --- looking inside ------------------------------------------------------------------------

def attention_maps(model: nn.Module) -> dict[str, torch.Tensor]:
    """``{layer name: (B, heads, T_q, T_k) weights}`` of every attention layer's last call
    (e.g. ``"encoder_blocks.0.self_attention"``), in the order the layers were built."""
    return {name: module.attention_weights for name, module in model.named_modules()
            if isinstance(module, MultiHeadAttention) and module.attention_weights is not None}


def parameter_count(**options) -> int:
    """Parameters of ``transformer(**options)`` built on the meta device.

    Meta tensors have shapes but no storage, so a 175-billion-parameter configuration is
    counted without allocating 700 GB; shared (tied) matrices are counted once.
    """
    with torch.device("meta"):
        model = transformer(**options)
    return sum(p.numel() for p in model.parameters())
