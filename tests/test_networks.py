"""Generators and discriminators: shapes, parameter counts at the official defaults, official key names."""
import pytest
import torch

from cyclegan.io import atomic_save, load_state_dict_file
from cyclegan.models.base_model import load_official_state_dict
from cyclegan.models.discriminators import define_D
from cyclegan.models.generators import define_G
from cyclegan.models.layers import init_weights


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_parameter_counts_at_official_defaults():
    assert n_params(define_G(3, 3, 64, "resnet_9blocks", "instance")) == 11_378_179
    assert n_params(define_D(3, 64, "basic", 3, "instance")) == 2_764_737


@pytest.mark.parametrize("netG,size", [("resnet_9blocks", 32), ("resnet_6blocks", 36), ("unet_128", 128),
                                       ("unet_256", 256)])
@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
def test_generator_shapes(netG, size, norm):
    G = define_G(3, 3, 4, netG, norm)
    x = torch.randn(2, 3, size, size)
    y = G(x)
    assert y.shape == x.shape
    assert y.abs().max() <= 1.0  # tanh output


@pytest.mark.parametrize("netD,size,out", [("basic", 64, 6), ("n_layers", 64, 6), ("pixel", 16, 16)])
def test_discriminator_shapes(netD, size, out):
    D = define_D(3, 4, netD, 3, "instance")
    assert D(torch.randn(2, 3, size, size)).shape == (2, 1, out, out)


def test_basic_patchgan_receptive_field_is_70():
    D = define_D(1, 2, "basic", 3, "none", init_type="normal")
    x = torch.zeros(1, 1, 140, 140, requires_grad=True)
    D(x)[0, 0, 5, 5].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero().flatten()
    assert rows.max() - rows.min() + 1 == 70


def official_resnet_keys(n_blocks=9, dropout=False):
    """Key names of the published resnet generators (pretrained style_vangogh etc.), by layer index."""
    keys = ["model.1.weight", "model.1.bias", "model.4.weight", "model.4.bias", "model.7.weight", "model.7.bias"]
    second = 6 if dropout else 5
    for b in range(10, 10 + n_blocks):
        for conv in (1, second):
            keys += [f"model.{b}.conv_block.{conv}.weight", f"model.{b}.conv_block.{conv}.bias"]
    last = 10 + n_blocks
    keys += [f"model.{last}.weight", f"model.{last}.bias", f"model.{last + 3}.weight", f"model.{last + 3}.bias",
             f"model.{last + 7}.weight", f"model.{last + 7}.bias"]
    return keys


@pytest.mark.parametrize("n_blocks,dropout", [(9, False), (6, False), (9, True)])
def test_resnet_state_dict_keys_are_official(n_blocks, dropout):
    G = define_G(3, 3, 8, f"resnet_{n_blocks}blocks", "instance", use_dropout=dropout)
    assert list(G.state_dict()) == official_resnet_keys(n_blocks, dropout)


def test_official_layout_file_loads_with_weights_only(tmp_path):
    """A plain state dict with the official names (plus the InstanceNorm running stats that old
    PyTorch 0.3 checkpoints carry) loads into our generator without conversion."""
    keys = official_resnet_keys(9)
    shapes = {k: v.shape for k, v in define_G(3, 3, 8, "resnet_9blocks", "instance").state_dict().items()}
    sd = {k: torch.randn(shapes[k]) for k in keys}
    sd["model.2.running_mean"] = torch.zeros(8)  # legacy InstanceNorm buffer
    sd["model.2.running_var"] = torch.ones(8)
    path = tmp_path / "latest_net_G.pth"
    atomic_save(sd, path)
    G = define_G(3, 3, 8, "resnet_9blocks", "instance")
    load_official_state_dict(G, load_state_dict_file(path), str(path))
    assert torch.equal(G.state_dict()["model.26.weight"], sd["model.26.weight"])


def test_wrong_architecture_names_the_file_and_flags(tmp_path):
    G6 = define_G(3, 3, 8, "resnet_6blocks", "instance")
    G9 = define_G(3, 3, 8, "resnet_9blocks", "instance")
    with pytest.raises(RuntimeError, match=r"latest_net_G\.pth.*--netG"):
        load_official_state_dict(G9, G6.state_dict(), "latest_net_G.pth")


@pytest.mark.parametrize("init_type", ["normal", "xavier", "kaiming", "orthogonal"])
def test_inits(init_type):
    torch.manual_seed(0)
    G = define_G(3, 3, 8, "resnet_6blocks", "instance", init_type=init_type, init_gain=0.02)
    conv = G.model[1]
    assert torch.count_nonzero(conv.bias) == 0
    std = conv.weight.std().item()
    if init_type == "normal":
        assert abs(std - 0.02) < 0.005
    elif init_type == "kaiming":  # gain-independent: sqrt(2 / fan_in)
        fan_in = conv.weight[0].numel()
        assert abs(std - (2 / fan_in) ** 0.5) < 0.3 * (2 / fan_in) ** 0.5
    else:
        assert std < 0.01  # xavier/orthogonal scaled by gain 0.02
    bn = define_G(3, 3, 8, "resnet_6blocks", "batch", init_type=init_type).model[2]
    assert abs(bn.weight.mean().item() - 1.0) < 0.02 and torch.count_nonzero(bn.bias) == 0


def test_unknown_init_is_a_clear_error():
    with pytest.raises(ValueError, match="--init_type"):
        init_weights(torch.nn.Conv2d(1, 1, 1), "bogus")
