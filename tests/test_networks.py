"""Generators and discriminators: shapes, parameter counts at the official defaults, official key names."""
import pytest
import torch

from cyclegan.io import atomic_save, load_state_dict_file
from cyclegan.models.weights import load_official_state_dict
from cyclegan.models.discriminators import define_D
from cyclegan.models.generators import ResnetGenerator, UnetGenerator, define_G
from cyclegan.models.layers import get_norm_layer, init_weights


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


# --- the official layout, re-stated by hand (junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py): a conv
# keeps its bias only before InstanceNorm2d (`use_bias = norm_layer.func == nn.InstanceNorm2d`, and with
# --norm none the norm layer is a plain function, so False); the first D conv and the last conv of every
# net always have one; batch norm carries weight, bias and running statistics; instance norm and none carry
# nothing.
NORM_KEYS = {"instance": [], "none": [],
             "batch": ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]}
NORM_KEYS["sync_batch"] = NORM_KEYS["batch"]


def conv_keys(prefix, bias):
    return [f"{prefix}.weight"] + ([f"{prefix}.bias"] if bias else [])


def norm_keys(prefix, norm):
    return [f"{prefix}.{k}" for k in NORM_KEYS[norm]]


def official_keys_resnet(n_blocks, norm):
    b = norm == "instance"
    keys = []
    for conv, nrm in ((1, 2), (4, 5), (7, 8)):
        keys += conv_keys(f"model.{conv}", b) + norm_keys(f"model.{nrm}", norm)
    for i in range(10, 10 + n_blocks):
        for conv, nrm in ((1, 2), (5, 6)):
            keys += conv_keys(f"model.{i}.conv_block.{conv}", b) + norm_keys(f"model.{i}.conv_block.{nrm}", norm)
    last = 10 + n_blocks
    for conv, nrm in ((last, last + 1), (last + 3, last + 4)):
        keys += conv_keys(f"model.{conv}", b) + norm_keys(f"model.{nrm}", norm)
    return keys + conv_keys(f"model.{last + 7}", True)


def official_keys_unet(num_downs, norm):
    b = norm == "instance"

    def level(prefix, depth):  # depth 0 = innermost
        if depth == 0:  # [LeakyReLU, downconv, ReLU, upconv, upnorm]
            return conv_keys(f"{prefix}.1", b) + conv_keys(f"{prefix}.3", b) + norm_keys(f"{prefix}.4", norm)
        # [LeakyReLU, downconv, downnorm, submodule, ReLU, upconv, upnorm]
        return (conv_keys(f"{prefix}.1", b) + norm_keys(f"{prefix}.2", norm) + level(f"{prefix}.3.model", depth - 1)
                + conv_keys(f"{prefix}.5", b) + norm_keys(f"{prefix}.6", norm))
    # outermost: [downconv, submodule, ReLU, upconv (bias), Tanh]
    return (conv_keys("model.model.0", b) + level("model.model.1.model", num_downs - 2)
            + conv_keys("model.model.3", True))


def official_keys_nlayers(n_layers, norm):
    b = norm == "instance"
    keys = conv_keys("model.0", True)
    for n in range(1, n_layers + 1):
        keys += conv_keys(f"model.{3 * n - 1}", b) + norm_keys(f"model.{3 * n}", norm)
    return keys + conv_keys(f"model.{3 * n_layers + 2}", True)


def official_keys_pixel(norm):
    b = norm == "instance"
    return conv_keys("net.0", True) + conv_keys("net.2", b) + norm_keys("net.3", norm) + conv_keys("net.5", b)


@pytest.mark.parametrize("norm", ["none", "instance", "batch", "sync_batch"])
def test_state_dict_keys_match_the_official_layout_for_every_norm(norm):
    nets = {
        "resnet_9blocks": (define_G(3, 3, 4, "resnet_9blocks", norm), official_keys_resnet(9, norm)),
        "unet_256": (define_G(3, 3, 4, "unet_256", norm), official_keys_unet(8, norm)),
        "unet_128": (define_G(3, 3, 4, "unet_128", norm), official_keys_unet(7, norm)),
        "basic": (define_D(3, 4, "basic", 3, norm), official_keys_nlayers(3, norm)),
        "n_layers_5": (define_D(3, 4, "n_layers", 5, norm), official_keys_nlayers(5, norm)),
        "pixel": (define_D(3, 4, "pixel", 3, norm), official_keys_pixel(norm)),
    }
    for name, (net, official) in nets.items():
        assert list(net.state_dict()) == official, name


def test_norm_none_convs_have_no_bias_and_official_files_load(tmp_path):
    G = define_G(3, 3, 4, "resnet_9blocks", "none")
    convs = [m for m in G.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert [m.bias is not None for m in convs] == [False] * (len(convs) - 1) + [True]  # only the output conv
    shapes = {k: v.shape for k, v in G.state_dict().items()}
    official = {k: torch.randn(shapes[k]) for k in official_keys_resnet(9, "none")}
    load_official_state_dict(G, official, "latest_net_G_A.pth")
    assert torch.equal(G.state_dict()["model.1.weight"], official["model.1.weight"])


def official_init(net, gain=0.02):
    """The official init_weights (init_type normal), re-stated: it matches classes by name."""
    def init_func(m):
        classname = m.__class__.__name__
        if hasattr(m, "weight") and (classname.find("Conv") != -1 or classname.find("Linear") != -1):
            torch.nn.init.normal_(m.weight.data, 0.0, gain)
            if hasattr(m, "bias") and m.bias is not None:
                torch.nn.init.constant_(m.bias.data, 0.0)
        elif classname.find("BatchNorm2d") != -1:
            torch.nn.init.normal_(m.weight.data, 1.0, gain)
            torch.nn.init.constant_(m.bias.data, 0.0)
    net.apply(init_func)
    return net


RAW = {"resnet_6blocks": lambda norm: ResnetGenerator(3, 3, 4, norm, False, n_blocks=6),
       "unet_128": lambda norm: UnetGenerator(3, 3, 7, 4, norm, False)}


@pytest.mark.parametrize("netG", ["resnet_6blocks", "unet_128"])
def test_batch_and_sync_batch_init_as_the_official_batch_norm(netG):
    """Batch norm gets the official init; SyncBatchNorm (which the official name match skips) gets the same
    values as the BatchNorm2d net it stands for: the official code converts an initialised BatchNorm2d."""
    torch.manual_seed(3)
    ours = define_G(3, 3, 4, netG, "batch").state_dict()
    torch.manual_seed(3)  # the official order: build the net (PyTorch's default init), then init_weights
    official = official_init(RAW[netG](get_norm_layer("batch"))).state_dict()
    torch.manual_seed(3)
    sync = define_G(3, 3, 4, netG, "sync_batch")
    assert any(isinstance(m, torch.nn.SyncBatchNorm) for m in sync.modules())
    sync = sync.state_dict()
    assert list(ours) == list(official) == list(sync)
    assert all(torch.equal(ours[k], official[k]) for k in ours)
    assert all(torch.equal(sync[k], official[k]) for k in ours)
    scales = [v for k, v in sync.items() if k.endswith("weight") and v.dim() == 1]
    assert scales and all(not torch.equal(s, torch.ones_like(s)) for s in scales)  # not PyTorch's default 1
    assert all(abs(s.mean().item() - 1.0) < 0.05 for s in scales)
