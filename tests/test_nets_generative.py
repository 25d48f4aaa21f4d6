"""Tests for nets/generative.py (chapters 54-61): shapes, the contractive penalty against an
autograd Jacobian, the reparameterisation trick, the closed-form KL, and option errors."""

from __future__ import annotations

import pytest
import torch

import nets
from nets.generative import VAE, gaussian_kl


def test_dcgan_generator_upsamples_noise_to_pixel_images():
    torch.manual_seed(0)
    generator = nets.build("dcgan_generator", latent_size=8, channels=[8, 4])
    with torch.no_grad():
        images = generator.sample(5)
    assert images.shape == (5, 1, 28, 28)
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0  # sigmoid pixels
    assert generator.start_side == 7  # 28 halved twice: two transposed convolutions double it back


def test_dcgan_discriminator_reads_flat_and_square_images_alike():
    torch.manual_seed(0)
    discriminator = nets.build("dcgan_discriminator", channels=[4, 8]).eval()
    images = torch.rand(3, 1, 28, 28)
    assert torch.allclose(discriminator(images), discriminator(images.view(3, 784)))


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_contractive_penalty_is_the_squared_frobenius_norm_of_the_jacobian(activation):
    torch.manual_seed(1)
    model = nets.build("autoencoder", input_size=6, hidden_sizes=[4], activation=activation)
    x = torch.randn(3, 6)
    by_autograd = torch.stack([
        (torch.autograd.functional.jacobian(lambda row: model.encode(row.unsqueeze(0))[0], row) ** 2).sum()
        for row in x]).mean()
    assert torch.allclose(model.contractive_penalty(x), by_autograd, atol=1e-6)


def test_contractive_penalty_refuses_a_multilayer_encoder():
    model = nets.build("autoencoder", input_size=6, hidden_sizes=[4, 2])
    with pytest.raises(nets.NetError, match="one hidden layer"):
        model.contractive_penalty(torch.rand(2, 6))


def test_autoencoder_mirrors_its_sizes():
    model = nets.build("autoencoder", input_size=784, hidden_sizes=[128, 32])
    encoder = [m.out_features for m in model.encoder if isinstance(m, torch.nn.Linear)]
    decoder = [m.out_features for m in model.decoder if isinstance(m, torch.nn.Linear)]
    assert encoder == [128, 32] and decoder == [128, 784] and model.code_size == 32


def test_reparameterised_samples_have_the_encoders_mean_and_variance_and_carry_gradients():
    mu = torch.tensor([[1.5, -2.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, -1.0]], requires_grad=True)
    generator = torch.Generator().manual_seed(0)
    z = VAE.reparameterize(mu.expand(200_000, 2), logvar.expand(200_000, 2), generator=generator)
    assert torch.allclose(z.mean(0), mu[0].detach(), atol=0.01)
    assert torch.allclose(z.std(0), torch.exp(0.5 * logvar[0]).detach(), atol=0.01)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.tensor([[200_000.0, 200_000.0]]))  # dz/dmu = 1 per sample
    assert float(logvar.grad.abs().min()) > 0  # dz/dlogvar = eps * sigma / 2: the gradient passes


def test_closed_form_kl_matches_a_monte_carlo_estimate():
    mu, logvar = torch.tensor([[0.7, -0.3]]), torch.tensor([[0.5, -0.8]])
    generator = torch.Generator().manual_seed(0)
    z = VAE.reparameterize(mu.expand(400_000, 2), logvar.expand(400_000, 2), generator=generator)
    var = logvar.exp()
    log_q = (-0.5 * ((z - mu) ** 2 / var + logvar + torch.log(torch.tensor(2 * torch.pi)))).sum(1)
    log_p = (-0.5 * (z ** 2 + torch.log(torch.tensor(2 * torch.pi)))).sum(1)
    assert abs(float((log_q - log_p).mean()) - float(gaussian_kl(mu, logvar)[0])) < 0.01
    assert float(gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3))[0]) == 0.0  # q = prior


def test_vae_loss_weighs_reconstruction_by_C():
    torch.manual_seed(0)
    model = nets.build("vae", input_size=12, hidden_sizes=[8], latent_size=2).eval()  # z = g(x): no noise
    x = torch.rand(4, 12)
    total_1, error, kl = model.loss(x, C=1.0)
    total_10, _, _ = model.loss(x, C=10.0)
    assert torch.allclose(total_10 - total_1, 9.0 * error)
    assert float(kl) >= 0.0
    assert model.sample(3).shape == (3, 12)


@pytest.mark.parametrize("kind, options, message", [
    ("dcgan_generator", dict(image_size=30), "multiple of 4"),
    ("conv_autoencoder", dict(channels=[]), "at least 1"),
    ("autoencoder", dict(hidden_sizes=[0]), "positive integers"),
    ("vae", dict(activation="softplus"), "activation"),
])
def test_bad_options_name_the_problem(kind, options, message):
    with pytest.raises(nets.NetError, match=message):
        nets.build(kind, **options)
