"""--model cut (CUT / FastCUT), quick tier: a generator saved by the CUT code (its keys, made here by the
transcription in _cut_reference.py with random weights) loads through cyclegan.load with its architecture read
from the keys and reproduces the CUT code's forward pass; our CUT networks have the CUT code's keys, features
and PatchNCE values; F is built with the model; the --CUT_mode presets are defaults that typed flags override;
`cyclegan-train --model cut --help` lists CUT's flags; one training step on the CPU."""
import numpy as np
import pytest
import torch

import cyclegan
from _cut_reference import reference_generator, reference_patchnce
from cyclegan.inference.arch import identify
from cyclegan.models.cut_networks import define_cut_G, define_F
from cyclegan.models.patchnce import PatchNCELoss
from options.train_options import TrainOptions

VARIANTS = [  # netG, ngf, norm, no_antialias, no_antialias_up
    ("resnet_9blocks", 8, "instance", False, False),  # the CUT code's defaults
    ("resnet_6blocks", 4, "instance", True, False),
    ("resnet_6blocks", 4, "batch", False, True),
    ("resnet_4blocks", 4, "none", False, False),
]


def smooth(seed, h=32, w=48):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.interpolate(torch.rand(1, 3, 6, 6, generator=g), size=(h, w), mode="bilinear",
                                           align_corners=False)


@pytest.mark.parametrize("netG,ngf,norm,no_aa,no_aa_up", VARIANTS)
def test_a_cut_code_generator_loads_from_its_keys_and_gives_its_output(tmp_path, netG, ngf, norm, no_aa, no_aa_up):
    ref = reference_generator(netG, ngf, norm, no_aa, no_aa_up, seed=3)
    sd = ref.state_dict()
    # the blur kernels are registered buffers: saved in the file (3x3 down, 4x4 up)
    assert any(k.endswith(".filt") and v.shape[-1] == 3 for k, v in sd.items()) == (not no_aa)
    assert any(k.endswith(".filt") and v.shape[-1] == 4 for k, v in sd.items()) == (not no_aa_up)
    run = tmp_path / "cut_run"
    run.mkdir()
    torch.save(sd, run / "latest_net_G.pth")
    t = cyclegan.load(run, device="cpu", amp="none", tile=0)
    assert t.info["kind"] == "cut" and t.info["netG"] == netG and t.info["ngf"] == ngf and t.info["norm"] == norm
    assert (t.info["no_antialias"], t.info["no_antialias_up"]) == (no_aa, no_aa_up)
    x = smooth(1)
    with torch.no_grad():
        want = (ref(x * 2 - 1) + 1) / 2
    got = t(x)
    diff = (got - want.clamp(0, 1)).abs()
    assert float(diff.mean()) * 255 <= 1.0
    assert float(diff.max()) < 1e-5, float(diff.max())  # the same float32 math: ~0
    # the uint8 path too (PIL in, PIL out)
    img = (x[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    out = t(img).astype(np.int16)
    with torch.no_grad():
        ref_u8 = ((ref(torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255 * 2 - 1) + 1) / 2).clamp(0, 1)
    ref_u8 = (ref_u8[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.int16)
    assert np.abs(out - ref_u8).max() <= 1


def test_without_anti_aliasing_a_cut_generator_is_an_official_cyclegan_one():
    ref = reference_generator("resnet_9blocks", 4, "instance", True, True)
    info = identify(ref.state_dict(), "x.pth")
    assert info["kind"] == "cyclegan" and info["netG"] == "resnet_9blocks"


@pytest.mark.parametrize("netG,ngf,norm,no_aa,no_aa_up", VARIANTS[:3])
def test_our_cut_generator_has_the_cut_codes_keys_buffers_and_features(netG, ngf, norm, no_aa, no_aa_up):
    ref = reference_generator(netG, ngf, norm, no_aa, no_aa_up, seed=5)
    ours = define_cut_G(3, 3, ngf, netG, norm, False, "xavier", 0.02, no_aa, no_aa_up)
    ours_sd = ours.state_dict()
    assert list(ours_sd) == list(ref.state_dict())
    for k, v in ref.state_dict().items():
        if k.endswith(".filt"):
            assert torch.equal(ours_sd[k], v), k
    ours.load_state_dict(ref.state_dict())
    ours.eval()
    layers = [0, 4, 8, 12, 16]
    x = smooth(2) * 2 - 1
    with torch.no_grad():
        mine, theirs = ours(x, layers, encode_only=True), ref(x, layers, encode_only=True)
    assert len(mine) == len(theirs) == 5
    for a, b in zip(mine, theirs):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-6)
    # F built from the channel counts has the MLP inputs the CUT code's lazy create_mlp would give
    F = define_F(ours.feature_channels(layers), "mlp_sample", nc=16)
    assert [getattr(F, f"mlp_{i}")[0].in_features for i in range(5)] == [f.shape[1] for f in theirs]
    with pytest.raises(ValueError, match="--nce_layers"):
        ours.feature_channels([0, 99])


@pytest.mark.parametrize("batch,all_negatives", [(1, False), (3, False), (3, True)])
def test_patchnce_is_the_cut_codes(batch, all_negatives):
    g = torch.Generator().manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(batch * 10, 16, generator=g), dim=1)
    k = torch.nn.functional.normalize(torch.randn(batch * 10, 16, generator=g), dim=1)
    mine = PatchNCELoss(0.07, all_negatives)(q, k, batch)
    assert mine.shape == (batch * 10,)
    assert torch.allclose(mine, reference_patchnce(q, k, batch, 0.07, all_negatives), atol=1e-6)


def parse(*flags):
    return TrainOptions().parse(["--dataroot", "x", "--model", "cut", *flags])


def test_cut_mode_presets_are_defaults_that_typed_flags_override():
    o = parse()
    assert (o.nce_idt, o.lambda_NCE, o.flip_equivariance, o.n_epochs, o.n_epochs_decay) == (True, 1.0, False, 200, 200)
    assert (o.pool_size, o.init_type, o.no_dropout, o.netF, o.num_patches, o.nce_layers) == \
        (0, "xavier", True, "mlp_sample", 256, "0,4,8,12,16")
    o = parse("--CUT_mode", "FastCUT")
    assert (o.nce_idt, o.lambda_NCE, o.flip_equivariance, o.n_epochs, o.n_epochs_decay) == (False, 10.0, True, 150, 50)
    o = parse("--lambda_NCE", "3", "--CUT_mode", "FastCUT", "--flip_equivariance", "false", "--n_epochs", "7")
    assert (o.lambda_NCE, o.flip_equivariance, o.n_epochs, o.n_epochs_decay, o.nce_idt) == (3.0, False, 7, 50, False)
    o = parse("--nce_idt", "False", "--pool_size", "5")
    assert (o.nce_idt, o.pool_size) == (False, 5)
    assert TrainOptions().parse(["--dataroot", "x"]).n_epochs == 100  # cycle_gan keeps the official defaults


def test_help_lists_the_models_flags(capsys):
    with pytest.raises(SystemExit) as e:
        TrainOptions().parse(["--model", "cut", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--CUT_mode", "--nce_layers", "--netF_nc", "--no_antialias_up", "--lambda_NCE"):
        assert flag in out, flag


@pytest.mark.parametrize("gan_mode", ["lsgan", "vanilla", "hinge"])
def test_one_training_step_moves_every_network_and_logs_the_cut_losses(tmp_path, gan_mode):
    o = parse("--name", "t", "--checkpoints_dir", str(tmp_path), "--ngf", "4", "--ndf", "4", "--netG",
              "resnet_6blocks", "--num_patches", "8", "--netF_nc", "8", "--amp", "none", "--crop_size", "32",
              "--gan_mode", gan_mode)
    from cyclegan.models import create_model
    torch.manual_seed(0)
    np.random.seed(0)
    m = create_model(o)
    m.configure()
    m.setup(o, load=False)
    assert m.model_names == ["G", "F", "D"] and m.optimizer_names == ["G", "D", "F"]
    before = {n: [p.detach().clone() for p in net.parameters()] for n, net in m.nets()}
    m.set_input({"A": smooth(1, 32, 32) * 2 - 1, "B": smooth(2, 32, 32) * 2 - 1, "A_paths": ["a"], "B_paths": ["b"]})
    m.optimize_parameters()
    losses = m.get_current_losses()
    assert list(losses) == ["G_GAN", "D_real", "D_fake", "G", "NCE", "NCE_Y"]
    assert all(np.isfinite(v) for v in losses.values())
    for n, net in m.nets():
        assert any(not torch.equal(a, b) for a, b in zip(before[n], net.parameters())), f"net{n} did not move"
    assert set(m.get_current_visuals()) == {"real_A", "fake_B", "real_B", "idt_B"}


@pytest.mark.parametrize("norm,no_aa_up", [("instance", False), ("batch", True)])
def test_over_the_memory_budget_a_cut_generator_runs_in_tiles_with_the_same_result(tmp_path, norm, no_aa_up):
    ref = reference_generator("resnet_6blocks", 4, norm, False, no_aa_up, seed=1)
    torch.save(ref.state_dict(), tmp_path / "latest_net_G.pth")
    whole = cyclegan.load(tmp_path / "latest_net_G.pth", device="cpu", amp="none", tile=0)
    tiled = cyclegan.load(tmp_path / "latest_net_G.pth", device="cpu", amp="none", tile=24)
    auto = cyclegan.load(tmp_path / "latest_net_G.pth", device="cpu", amp="none", memory_budget_mb=0.001)
    assert tiled.untileable is None and auto.tile_for(1, 64, 88) is not None
    x = smooth(4, 64, 88)
    want = whole(x)
    with torch.no_grad():
        assert float((want - ((ref(x * 2 - 1) + 1) / 2).clamp(0, 1)).abs().max()) < 1e-5
    for t in (tiled, auto):
        assert float((t(x) - want).abs().max()) < 1e-4


def test_a_net_without_a_tiled_form_runs_whole_over_the_budget_with_a_warning():
    from cyclegan.inference import Translator
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 3, padding=1), torch.nn.GELU()).eval()
    t = Translator(net, {"ngf": 64}, device="cpu", amp="none", memory_budget_mb=0.001)
    assert "GELU" in t.untileable
    x = smooth(4)
    with pytest.warns(UserWarning, match="cannot run in tiles"):
        got = t(x)
    with torch.no_grad():
        assert torch.allclose(got, ((net(x * 2 - 1) + 1) / 2).clamp(0, 1), atol=1e-6)


def test_the_cuda_graph_step_is_off_for_cut_with_its_reason(tmp_path):
    from cyclegan.models import create_model
    from cyclegan.models.speed import SpeedConfig
    o = parse("--name", "g", "--checkpoints_dir", str(tmp_path), "--ngf", "4", "--ndf", "4", "--netG",
              "resnet_6blocks", "--netF_nc", "8")
    m = create_model(o)
    assert m.capture_spec() is None and "numpy" in m.no_capture_reason
    with pytest.raises(ValueError, match="without torchrun"):
        m.configure(SpeedConfig(device_type="cpu"), world_size=2)


@pytest.mark.parametrize("flags,message", [
    (["--netG", "unet_128"], "--netG unet_128: --model cut trains resnet_9blocks or resnet_6blocks"),
    (["--gan_mode", "wgangp"], "--gan_mode wgangp"),
    (["--nce_layers", "0,4,99"], "--nce_layers 0,4,99: this generator has layers 0 to"),
    (["--nce_layers", "a,b"], "--nce_layers 'a,b'"),
])
def test_settings_cut_cannot_train_are_user_errors_naming_the_flag(tmp_path, flags, message):
    from cyclegan.errors import UserError
    from cyclegan.models import create_model
    o = parse("--name", "e", "--checkpoints_dir", str(tmp_path), "--ngf", "4", "--ndf", "4", *flags)
    with pytest.raises(UserError) as e:
        create_model(o)
    assert message in str(e.value)


@pytest.mark.parametrize("mode,batch", [("CUT", 1), ("FastCUT", 2)])
def test_training_steps_equal_the_cut_codes_steps(tmp_path, mode, batch):
    """Our model and a transcription of the CUT code's step (tests/_cut_reference.py), from the same weights and
    numpy seed (patch positions, flips), take the same steps: the same losses and weights after three steps."""
    import _cut_reference as ref
    from cyclegan.models import create_model
    o = parse("--name", "s", "--checkpoints_dir", str(tmp_path), "--ngf", "4", "--ndf", "4", "--netG",
              "resnet_6blocks", "--num_patches", "8", "--netF_nc", "32", "--amp", "none", "--crop_size", "32",
              "--CUT_mode", mode, "--batch_size", str(batch))
    # a fixed init: the CUT code's normalisation gives NaN where an MLP output is all zeros (docs/cut.md), which
    # some inits at a small --netF_nc produce; ours does not
    torch.manual_seed(0)
    m = create_model(o)
    m.configure()
    m.setup(o, load=False)
    G = ref.ResnetGenerator(3, 3, 4, ref.get_norm_layer("instance"), False, 6)
    D = ref.NLayerDiscriminator(3, 4, 3, ref.get_norm_layer("instance"))
    F = ref.PatchSampleF(m.netG.feature_channels(m.nce_layers), nc=32)
    for theirs, ours in ((G, m.netG), (D, m.netD), (F, m.netF)):
        assert list(theirs.state_dict()) == list(ours.state_dict())  # the CUT code's keys, D's and F's too
        theirs.load_state_dict(ours.state_dict())
    step = ref.CUTStep(G, D, F, dict(vars(o)))
    batches = [(smooth(10 + i, 32, 32).repeat(batch, 1, 1, 1) * 2 - 1, smooth(20 + i, 32, 32).expand(batch, -1, -1, -1)
                * 2 - 1) for i in range(3)]
    batches = [(a + 0.05 * torch.randn(a.shape, generator=torch.Generator().manual_seed(i)), b)
               for i, (a, b) in enumerate(batches)]
    np.random.seed(3)
    mine = []
    for a, b in batches:
        m.set_input({"A": a, "B": b, "A_paths": ["a"] * batch, "B_paths": ["b"] * batch})
        m.optimize_parameters()
        mine.append({k: float(getattr(m, "loss_" + k).detach()) for k in ("D", "G", "NCE")})
    np.random.seed(3)
    theirs = [step.step(a, b) for a, b in batches]
    for x, y in zip(mine, theirs):
        for k in x:
            assert x[k] == pytest.approx(y[k], rel=1e-4, abs=1e-6), (k, x, y)
    for net_ref, net in ((G, m.netG), (D, m.netD), (F, m.netF)):
        free = normed_biases(net)
        assert free or net is m.netF
        for (k, a), b in zip(net.state_dict().items(), net_ref.state_dict().values()):
            # a conv bias before an instance norm has a zero gradient up to rounding, which Adam scales to steps
            # of up to lr each way: after 3 steps the two may differ by 6 lr; every other tensor agrees to rounding
            atol = 6 * o.lr if k in free else 1e-5
            assert torch.allclose(a, b, atol=atol, rtol=1e-4), k


def normed_biases(net):
    """State-dict keys of the conv biases that an InstanceNorm2d follows directly (gradient zero up to rounding)."""
    out = set()
    for name, mod in net.named_modules():
        if isinstance(mod, torch.nn.Sequential):
            layers = list(mod)
            for i, layer in enumerate(layers[:-1]):
                if isinstance(layer, torch.nn.Conv2d) and layer.bias is not None and \
                        isinstance(layers[i + 1], torch.nn.InstanceNorm2d):
                    out.add(f"{name}.{i}.bias" if name else f"{i}.bias")
    return out


def test_testing_a_cut_run_takes_its_direction_and_architecture_from_the_run(tmp_path):
    import json
    from options.test_options import TestOptions
    run = tmp_path / "r"
    run.mkdir()
    (run / "train_opt.json").write_text(json.dumps({"model": "cut", "direction": "BtoA", "netG": "resnet_6blocks",
                                                    "ngf": 8, "normG": "batch", "no_antialias": True}))
    base = ["--dataroot", "x", "--name", "r", "--checkpoints_dir", str(tmp_path)]
    o = TestOptions().parse(base)
    assert (o.model, o.direction, o.netG, o.ngf, o.normG, o.no_antialias) == \
        ("cut", "BtoA", "resnet_6blocks", 8, "batch", True)
    assert TestOptions().parse(base + ["--direction", "AtoB"]).direction == "AtoB"  # typed: kept


def test_a_resumed_cut_run_keeps_its_mode_and_settings_unless_typed(tmp_path):
    import json
    run = tmp_path / "r"
    run.mkdir()
    (run / "train_opt.json").write_text(json.dumps({"model": "cut", "CUT_mode": "FastCUT", "nce_idt": False,
                                                    "lambda_NCE": 3.0, "flip_equivariance": True, "n_epochs": 7,
                                                    "n_epochs_decay": 2, "num_patches": 64}))
    base = ["--name", "r", "--checkpoints_dir", str(tmp_path), "--continue_train"]
    o = parse(*base)
    assert (o.CUT_mode, o.nce_idt, o.lambda_NCE, o.flip_equivariance, o.n_epochs, o.n_epochs_decay, o.num_patches) \
        == ("FastCUT", False, 3.0, True, 7, 2, 64)
    o = parse(*base, "--lambda_NCE", "5", "--num_patches", "32")
    assert (o.CUT_mode, o.lambda_NCE, o.num_patches, o.n_epochs) == ("FastCUT", 5.0, 32, 7)
    o = parse(*base, "--CUT_mode", "CUT")  # a typed mode: its preset, nothing restored (as a typed --recipe)
    assert (o.CUT_mode, o.nce_idt, o.lambda_NCE, o.num_patches) == ("CUT", True, 1.0, 256)
    assert parse("--name", "r", "--checkpoints_dir", str(tmp_path)).CUT_mode == "CUT"  # a new run: no restore


def test_diffaug_reaches_every_discriminator_input_of_cut(tmp_path):
    """--diffaug (not in the CUT code): D sees augmented fakes and reals in D's and G's passes; off, D sees them
    as they are."""
    from cyclegan.models import create_model
    seen = {}
    for policy in ("", "translation:0.5"):
        o = parse("--name", "d", "--checkpoints_dir", str(tmp_path), "--ngf", "4", "--ndf", "4", "--netG",
                  "resnet_6blocks", "--num_patches", "8", "--netF_nc", "8", "--amp", "none", "--crop_size", "32",
                  "--diffaug", policy)
        assert o.diffaug == policy
        torch.manual_seed(0)
        np.random.seed(0)
        m = create_model(o)
        m.configure()
        m.setup(o, load=False)
        inputs = []
        m.netD.register_forward_pre_hook(lambda mod, args: inputs.append(args[0].detach().clone()))
        m.set_input({"A": smooth(1, 32, 32) * 2 - 1, "B": smooth(2, 32, 32) * 2 - 1, "A_paths": ["a"],
                     "B_paths": ["b"]})
        m.optimize_parameters()
        fake, real = m.fake_B.detach(), m.real_B
        seen[policy] = [torch.equal(x, real) or torch.allclose(x, fake, atol=1e-6) for x in inputs]
        assert len(inputs) >= 3  # D's fake and real, G's fake
    assert all(seen[""]) and not any(seen["translation:0.5"]), seen
    assert "diffaug" in parse("--name", "d", "--checkpoints_dir", str(tmp_path)).__dict__
