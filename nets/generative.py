"""Generative networks of chapters 54-61: the DCGAN generator and discriminator, the
autoencoder family (fully connected, multilayer, convolutional) and the variational autoencoder.

Chapter 54: "the discriminator is a standard convolutional network ... the generator is an
inverse convolutional network: it takes a vector of random noise and upsamples it to an
image" -> :class:`DCGANGenerator` (noise -> 7x7 maps -> transposed convolutions doubling the
side -> 28x28) and :class:`DCGANDiscriminator` (strided convolutions halving the side -> one
logit, the score of "real").

Chapters 58-59: an autoencoder is an encoder h = f(x) and a decoder r = g(h) trained so that
r is close to x; the bottleneck h forces a compressed code. :class:`Autoencoder` is the
standard (one hidden layer, the book's 100 -> 50 -> 100) and the multilayer one (``hidden_sizes``
mirrored: 784 -> 128 -> 32 -> 128 -> 784); with ``activation="identity"`` it is the linear
autoencoder that chapter 60 compares with PCA. :meth:`Autoencoder.contractive_penalty` is the
contractive autoencoder's ||J_f(x)||_F^2, the squared Frobenius norm of the code's Jacobian.
:class:`ConvAutoencoder` is the convolutional one.

Chapters 60-61: :class:`VAE` encodes x as a Gaussian q_x(z) = N(g(x), diag(h(x))) (g and h
share a trunk), samples z = g(x) + sqrt(h(x)) * eps with eps ~ N(0, I) (the
reparameterisation trick, so the gradient reaches g and h) and decodes the mean f(z). Its
loss is the book's C * ||x - f(z)||^2 + KL(q_x(z) || N(0, I)) with C = 1 / (2c).

All are registered: ``nets.build("dcgan_generator")``, ``"dcgan_discriminator"``,
``"autoencoder"``, ``"conv_autoencoder"``, ``"vae"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lab.checks import at_least, require
from lab.i18n import tr

from nets.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS, make_activation
from nets.registry import NetError, positive_ints, register


def _check_image_size(image_size: int, halvings: int) -> int:
    """The side after `halvings` stride-2 steps; the image side must divide evenly."""
    require(image_size >= 2**halvings and image_size % 2**halvings == 0,
            tr("image_size {size} must be a multiple of {multiple} ({halvings} stride-2 layers)").format(
                size=image_size, multiple=2**halvings, halvings=halvings), NetError)
    return image_size // 2**halvings


def _as_images(x: torch.Tensor, channels: int, side: int) -> torch.Tensor:
    """Accept flat (B, C*side*side) vectors as well as (B, C, side, side) images."""
    if x.dim() == 2:
        x = x.view(len(x), channels, side, side)
    return x.float() if not x.is_floating_point() else x


# --------------------------------------------------------------------------------------------
# Chapter 54: the GAN on images
# --------------------------------------------------------------------------------------------


@register("dcgan_generator", "noise z -> image by transposed convolutions that double the side "
                             "(DCGAN-style upsampling generator, chapter 54)")
class DCGANGenerator(nn.Module):
    """z (B, latent_size) -> Linear -> channels[0] maps of side image_size / 2^k -> k transposed
    convolutions (4x4, stride 2: each doubles the side) -> (B, out_channels, image_size, image_size).

    Batch normalisation and ReLU after every layer but the last (Radford et al. 2016); the last
    applies ``output_activation`` (sigmoid: pixels in [0, 1] like the normalised digits).
    """

    def __init__(self, *, latent_size: int = 32, channels: Sequence[int] = (64, 32), image_size: int = 28,
                 out_channels: int = 1, output_activation: str = "sigmoid") -> None:
        super().__init__()
        channels = positive_ints("channels", channels)
        self.latent_size, self.image_size, self.out_channels = int(latent_size), int(image_size), int(out_channels)
        self.start_side = _check_image_size(self.image_size, len(channels))
        self.channels = channels
        self.project = nn.Sequential(
            nn.Linear(self.latent_size, channels[0] * self.start_side ** 2, bias=False),
            nn.BatchNorm1d(channels[0] * self.start_side ** 2), nn.ReLU())
        blocks: list[nn.Module] = []
        for c_in, c_out in zip(channels, channels[1:]):
            blocks += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(c_out), nn.ReLU()]
        blocks += [nn.ConvTranspose2d(channels[-1], self.out_channels, 4, stride=2, padding=1),
                   make_activation(output_activation, OUTPUT_ACTIVATIONS)]
        self.upsample = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        maps = self.project(z).view(len(z), self.channels[0], self.start_side, self.start_side)
        return self.upsample(maps)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images from z ~ N(0, I): the "random numbers" the generator turns into an image."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_size, generator=generator, device=device)
        return self(z)


@register("dcgan_discriminator", "image -> logit of 'real' by strided convolutions that halve "
                                 "the side (DCGAN-style discriminator, chapter 54)")
class DCGANDiscriminator(nn.Module):
    """(B, in_channels, image_size, image_size) or flat images -> k convolutions (4x4, stride 2,
    LeakyReLU 0.2, batch norm after all but the first) -> one logit per image.

    sigmoid(logit) is D(x), the probability that x is real; train with BCE-with-logits.
    """

    def __init__(self, *, channels: Sequence[int] = (32, 64), image_size: int = 28, in_channels: int = 1) -> None:
        super().__init__()
        channels = positive_ints("channels", channels)
        self.image_size, self.in_channels = int(image_size), int(in_channels)
        end_side = _check_image_size(self.image_size, len(channels))
        layers: list[nn.Module] = []
        for index, (c_in, c_out) in enumerate(zip([self.in_channels] + channels[:-1], channels)):
            layers.append(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=index == 0))
            if index > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
        self.features = nn.Sequential(*layers)
        self.score = nn.Linear(channels[-1] * end_side ** 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _as_images(x, self.in_channels, self.image_size)
        return self.score(self.features(x).flatten(1)).squeeze(1)


# --------------------------------------------------------------------------------------------
# Chapters 58-60: autoencoders
# --------------------------------------------------------------------------------------------

#: d(activation)/dz written in terms of the activation's output h, for the contractive penalty.
_DERIVATIVE_FROM_OUTPUT = {
    "sigmoid": lambda h: h * (1 - h),
    "tanh": lambda h: 1 - h * h,
    "relu": lambda h: (h > 0).to(h.dtype),
    "identity": lambda h: torch.ones_like(h),
}


@register("autoencoder", "fully connected autoencoder: input_size -> hidden_sizes -> mirrored back "
                         "(standard 100-50-100, multilayer, linear with activation=identity; chapters 58-60)")
class Autoencoder(nn.Module):
    """Encoder f: input_size -> hidden_sizes[0] -> ... -> hidden_sizes[-1] (the code h);
    decoder g: the same sizes in reverse back to input_size. ``activation`` follows every layer
    but the decoder's last, which applies ``output_activation``.

    forward(x) returns the reconstruction r = g(f(x)) in x's shape (flat or (B, 1, H, W)).
    """

    def __init__(self, *, input_size: int = 784, hidden_sizes: Sequence[int] = (50,),
                 activation: str = "relu", output_activation: str = "sigmoid") -> None:
        super().__init__()
        self.hidden_sizes = positive_ints("hidden_sizes", hidden_sizes)
        self.input_size = int(input_size)
        self.activation_name = activation
        sizes = [self.input_size] + self.hidden_sizes
        act = lambda: make_activation(activation, ACTIVATIONS)  # noqa: E731 - a fresh module per layer
        encoder: list[nn.Module] = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            encoder += [nn.Linear(n_in, n_out), act()]
        decoder: list[nn.Module] = []
        backwards = sizes[::-1]
        for index, (n_in, n_out) in enumerate(zip(backwards[:-1], backwards[1:])):
            decoder.append(nn.Linear(n_in, n_out))
            last = index == len(backwards) - 2
            decoder.append(make_activation(output_activation, OUTPUT_ACTIVATIONS) if last else act())
        self.encoder, self.decoder = nn.Sequential(*encoder), nn.Sequential(*decoder)

    @property
    def code_size(self) -> int:
        return self.hidden_sizes[-1]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """h = f(x): the code (B, code_size)."""
        return self.encoder(x.flatten(1).float())

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """r = g(h): flat reconstructions (B, input_size)."""
        return self.decoder(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)).view(x.shape)

    def contractive_penalty(self, x: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of ||J_f(x)||_F^2 = sum_ij (dh_j / dx_i)^2 (chapter 59's CAE).

        For one hidden layer h = s(Wx + b) the Jacobian is diag(s'(z)) W, so the squared
        Frobenius norm is sum_j s'(z_j)^2 * sum_i W_ji^2: no backward pass per code unit.
        """
        if len(self.hidden_sizes) != 1 or self.activation_name not in _DERIVATIVE_FROM_OUTPUT:
            raise NetError(tr("contractive_penalty needs one hidden layer with activation in {choices}; got "
                              "hidden_sizes={sizes}, activation={activation}").format(
                choices=sorted(_DERIVATIVE_FROM_OUTPUT), sizes=self.hidden_sizes,
                activation=repr(self.activation_name)))
        h = self.encode(x)
        slope = _DERIVATIVE_FROM_OUTPUT[self.activation_name](h)  # (B, code)
        row_norms = (self.encoder[0].weight ** 2).sum(dim=1)      # sum_i W_ji^2, (code,)
        return ((slope ** 2) * row_norms).sum(dim=1).mean()


@register("conv_autoencoder", "convolutional autoencoder: strided convolutions down to a code, "
                              "transposed convolutions back up (chapter 59)")
class ConvAutoencoder(nn.Module):
    """(B, 1, 28, 28) -> convolutions (3x3, stride 2, ReLU) halving the side per entry of
    ``channels`` -> a linear code of ``code_size`` -> back through the mirrored transposed
    convolutions -> sigmoid pixels. Flat (B, 784) inputs are accepted and returned flat.
    """

    def __init__(self, *, channels: Sequence[int] = (16, 32), code_size: int = 32, image_size: int = 28,
                 in_channels: int = 1) -> None:
        super().__init__()
        channels = positive_ints("channels", channels)
        self.channels, self.image_size, self.in_channels = channels, int(image_size), int(in_channels)
        self.end_side = _check_image_size(self.image_size, len(channels))
        down: list[nn.Module] = []
        for c_in, c_out in zip([self.in_channels] + channels[:-1], channels):
            down += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.ReLU()]
        flat = channels[-1] * self.end_side ** 2
        self.encoder = nn.Sequential(*down, nn.Flatten(), nn.Linear(flat, int(code_size)), nn.ReLU())
        self.expand = nn.Sequential(nn.Linear(int(code_size), flat), nn.ReLU())
        up: list[nn.Module] = []
        backwards = channels[::-1] + [self.in_channels]
        for index, (c_in, c_out) in enumerate(zip(backwards[:-1], backwards[1:])):
            up.append(nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1))
            up.append(nn.Sigmoid() if index == len(backwards) - 2 else nn.ReLU())
        self.up = nn.Sequential(*up)
        self.code_size = int(code_size)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(_as_images(x, self.in_channels, self.image_size))

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        maps = self.expand(h).view(len(h), self.channels[-1], self.end_side, self.end_side)
        return self.up(maps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)).reshape(x.shape)


# --------------------------------------------------------------------------------------------
# Chapters 60-61: the variational autoencoder
# --------------------------------------------------------------------------------------------


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row, in closed form (chapter 60):
    1/2 * sum_k (sigma_k^2 + mu_k^2 - 1 - ln sigma_k^2)."""
    return 0.5 * (logvar.exp() + mu ** 2 - 1.0 - logvar).sum(dim=1)


@register("vae", "variational autoencoder: x -> (g(x), h(x)) -> z = g + sqrt(h) * eps -> f(z); "
                 "loss C*||x - f(z)||^2 + KL (chapters 60-61)")
class VAE(nn.Module):
    """Encoder trunk -> two heads, the mean g(x) and the log of the diagonal covariance
    ln h(x) (a log so h > 0 without a constraint); decoder f: z -> pixel means.

    encode_decode(x) returns (f(z), g(x), ln h(x)); forward(x) only the reconstruction f(z).
    """

    def __init__(self, *, input_size: int = 784, hidden_sizes: Sequence[int] = (256,), latent_size: int = 2,
                 activation: str = "relu", output_activation: str = "sigmoid") -> None:
        super().__init__()
        hidden = positive_ints("hidden_sizes", hidden_sizes)
        self.input_size, self.latent_size = int(input_size), int(latent_size)
        at_least("latent_size", self.latent_size, 1, error=NetError)
        trunk: list[nn.Module] = []
        for n_in, n_out in zip([self.input_size] + hidden[:-1], hidden):
            trunk += [nn.Linear(n_in, n_out), make_activation(activation, ACTIVATIONS)]
        self.trunk = nn.Sequential(*trunk)
        self.mean_head = nn.Linear(hidden[-1], self.latent_size)      # g(x)
        self.logvar_head = nn.Linear(hidden[-1], self.latent_size)    # ln h(x)
        decoder: list[nn.Module] = []
        backwards = hidden[::-1]
        for n_in, n_out in zip([self.latent_size] + backwards[:-1], backwards):
            decoder += [nn.Linear(n_in, n_out), make_activation(activation, ACTIVATIONS)]
        decoder += [nn.Linear(backwards[-1], self.input_size), make_activation(output_activation, OUTPUT_ACTIVATIONS)]
        self.decoder = nn.Sequential(*decoder)                        # f(z)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(g(x), ln h(x)): the mean and log-variance of q_x(z)."""
        features = self.trunk(x.flatten(1).float())
        return self.mean_head(features), self.logvar_head(features)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
                       ) -> torch.Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I): the randomness sits in eps, so dz/dmu = 1 and
        dz/dsigma = eps and backpropagation goes through the sampling step."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def encode_decode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(f(z) flat, g(x), ln h(x)), z sampled by the reparameterisation trick while training
        and z = g(x) (the mean code) in eval mode."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar) if self.training else mu
        return self.decode(z), mu, logvar

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction f(z) in x's shape (see :meth:`encode_decode` for g and h too)."""
        return self.encode_decode(x)[0].view(x.shape)

    def loss(self, x: torch.Tensor, C: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(C * ||x - f(z)||^2 + KL, ||x - f(z)||^2, KL), each averaged over the batch, with one
        sample of z per image (the book's single-draw Monte-Carlo estimate)."""
        reconstruction, mu, logvar = self.encode_decode(x)
        squared_error = ((x.flatten(1).float() - reconstruction) ** 2).sum(dim=1).mean()
        kl = gaussian_kl(mu, logvar).mean()
        return C * squared_error + kl, squared_error, kl

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode n draws of the prior z ~ N(0, I): new content from the regular latent space."""
        device = next(self.parameters()).device
        return self.decode(torch.randn(n, self.latent_size, generator=generator, device=device))
