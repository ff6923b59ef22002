"""cyclegan-distill and the mobile_resnet_* students: the students are much smaller than the official ResNet at the
same ngf and are recognised from their keys; a tiny teacher (random weights, saved here) is distilled end to end
in-process, the student loads with no flags (cyclegan.load, tiles, ONNX export, cyclegan-video), gets closer to the
teacher than at its start, and resumes bitwise; a missing or wrong teacher file is one clear error that leaves no
run folder; `cyclegan-benchmark distill` prints its rows."""
import contextlib
import io
import json

import pytest
import torch

from conftest import make_images
from cyclegan.cli import benchmark as benchmark_cli
from cyclegan.cli import distill as distill_cli
from cyclegan.inference.arch import identify
from cyclegan.io import atomic_save, load_checked
from cyclegan.models.generators import MOBILE_GENERATORS, define_G

FLAGS = ["--load_size", "36", "--crop_size", "32", "--ngf", "8", "--batch_size", "2", "--lr", "2e-3",
         "--print_freq", "5", "--save_freq", "10", "--eval_freq", "10", "--amp", "none", "--device", "cpu"]


def run_distill(*argv):
    """(exit status, stdout, stderr) of cyclegan-distill in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = distill_cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A dataset (trainB/testB of 40 px images, 6 + 4), a teacher (resnet_6blocks, ngf 8, random weights) and a
    student distilled from it for 30 iterations."""
    tmp = tmp_path_factory.mktemp("distill")
    make_images(tmp / "data" / "trainB", 6, seed=1)
    make_images(tmp / "data" / "testB", 4, seed=2)
    torch.manual_seed(0)
    teacher = tmp / "teacher_net_G_B.pth"
    atomic_save(define_G(3, 3, 8, "resnet_6blocks", "instance").state_dict(), teacher)
    ck = tmp / "ck"
    code, out, err = run_distill("--teacher", teacher, "--dataroot", tmp / "data", "--name", "student",
                                 "--checkpoints_dir", ck, "--n_iters", 30, *FLAGS)
    assert code == 0, out + err
    return tmp, teacher, ck, out


def test_mobile_generators_are_much_smaller_than_the_resnet_at_equal_ngf():
    count = {g: sum(p.numel() for p in define_G(3, 3, 16, g, "instance").parameters())
             for g in ("resnet_9blocks", *MOBILE_GENERATORS)}
    assert count["mobile_resnet_9blocks"] * 4 < count["resnet_9blocks"]
    assert count["mobile_resnet_3blocks"] < count["mobile_resnet_6blocks"] < count["mobile_resnet_9blocks"]
    net = define_G(3, 3, 16, "mobile_resnet_9blocks", "instance")
    assert net(torch.rand(2, 3, 36, 44) * 2 - 1).shape == (2, 3, 36, 44)


@pytest.mark.parametrize("netG,norm,dropout", [("mobile_resnet_9blocks", "instance", False),
                                               ("mobile_resnet_6blocks", "batch", True),
                                               ("mobile_resnet_3blocks", "none", False)])
def test_mobile_generators_are_recognised_from_their_keys(netG, norm, dropout):
    arch = identify(define_G(3, 3, 8, netG, norm, dropout).state_dict(), "x.pth")
    assert (arch["netG"], arch["ngf"], arch["norm"], arch["no_dropout"]) == (netG, 8, norm, not dropout)
    # the official ResNet of the same depth is not taken for a mobile one, nor the reverse
    assert identify(define_G(3, 3, 8, "resnet_6blocks", norm).state_dict(), "y.pth")["netG"] == "resnet_6blocks"


@pytest.mark.slow  # the module fixture distils a student end to end
def test_distilling_brings_the_student_closer_to_the_teacher(setup):
    tmp, _, ck, out = setup
    run = ck / "student"
    for name in ("latest_net_G.pth", "latest_state.pth", "distill_opt.json", "distill_opt.txt"):
        assert (run / name).is_file(), name
    rows = [json.loads(line) for line in (run / "distill_eval.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [0, 10, 20, 30]
    assert rows[-1]["l1"] < rows[0]["l1"] and rows[-1]["psnr"] > rows[0]["psnr"], rows
    assert "ETA" in out and "held-out, student vs teacher" in out
    # the end says what it measured: MACs and speed of both at 256 px, and the ratios
    assert "cost at 256 px on" in out and "x fewer)" in out and "x the teacher; full figures" in out
    assert "C2ST student vs teacher skipped: 4 held-out images" in out  # too few for its 5 folds


@pytest.mark.slow  # the module fixture distils a student end to end
def test_the_student_loads_and_translates_with_no_flags(setup):
    import cyclegan
    tmp, _, ck, _ = setup
    for source in (ck / "student", ck / "student" / "latest_net_G.pth"):
        t = cyclegan.load(source, device="cpu", amp="none")
        assert t.info["netG"] == "mobile_resnet_9blocks" and t.info["ngf"] == 8, t.info
        y = t(torch.rand(1, 3, 36, 52))
        assert y.shape == (1, 3, 36, 52) and 0 <= float(y.min()) and float(y.max()) <= 1
    whole = cyclegan.load(ck / "student", device="cpu", amp="none", tile=0)
    tiled = cyclegan.load(ck / "student", device="cpu", amp="none", tile=16)  # the depthwise blocks run in tiles
    x = torch.rand(1, 3, 48, 64)
    assert torch.allclose(whole(x), tiled(x), atol=1e-4)


@pytest.mark.slow  # the module fixture distils a student end to end
def test_the_student_exports_to_onnx_runs_in_cyclegan_test_and_stylises_a_video(setup):
    from cyclegan.cli import export as export_cli
    from cyclegan.cli import video as video_cli
    from test_video import make_clip
    tmp, _, ck, _ = setup
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert export_cli.main(["--name", "student", "--checkpoints_dir", str(ck), "--output",
                                str(tmp / "student.onnx")]) == 0
    assert (tmp / "student.onnx").is_file() and "mobile_resnet_9blocks" in out.getvalue()
    from cyclegan.cli import test as test_cli
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert test_cli.main(["--dataroot", str(tmp / "data" / "testB"), "--name", "student", "--checkpoints_dir",
                              str(ck), "--model", "test", "--gpu_ids", "-1", "--load_size", "32", "--crop_size", "32",
                              "--results_dir", str(tmp / "results")]) == 0
    assert "mobile_resnet_9blocks" in out.getvalue()
    assert len(list((tmp / "results").rglob("*_fake.png"))) == 4
    clip = make_clip(tmp / "clip.mp4", frames=4, audio=False)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert video_cli.main(["--input", str(clip), "--method", "cyclegan", "--name", "student",
                               "--checkpoints_dir", str(ck), "--output", str(tmp / "out.mp4")]) == 0
    assert "4 frames" in out.getvalue() and "flicker" in out.getvalue()


@pytest.mark.slow  # the module fixture distils a student end to end
def test_resume_continues_the_counter_and_matches_an_unbroken_run_bitwise(setup):
    tmp, teacher, ck, _ = setup
    common = ["--teacher", teacher, "--dataroot", tmp / "data", "--checkpoints_dir", ck, *FLAGS]
    assert run_distill(*common, "--name", "whole", "--n_iters", 20)[0] == 0
    assert run_distill(*common, "--name", "split", "--n_iters", 10)[0] == 0
    code, out, err = run_distill(*common, "--name", "split", "--n_iters", 20, "--continue_train")
    assert code == 0, out + err
    assert "resumed from" in out and "at iteration 10" in out
    assert load_checked(ck / "split" / "latest_state.pth")["counters"]["iteration"] == 20
    a = torch.load(ck / "whole" / "latest_net_G.pth", weights_only=True)
    b = torch.load(ck / "split" / "latest_net_G.pth", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # another student architecture cannot resume the run
    with pytest.raises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()) as err:
        distill_cli.main([str(a) for a in (*common, "--name", "split", "--continue_train", "--ngf", "16")])
    assert e.value.code == 2 and "--ngf 16 (the run has 8)" in err.getvalue()
    # the same name again without --continue_train is refused, nothing overwritten
    before = (ck / "split" / "latest_net_G.pth").read_bytes()
    with pytest.raises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()) as err:
        distill_cli.main([str(a) for a in (*common, "--name", "split", "--n_iters", 30)])
    assert e.value.code == 2 and "--continue_train" in err.getvalue()
    assert (ck / "split" / "latest_net_G.pth").read_bytes() == before


@pytest.mark.slow  # the module fixture distils a student end to end
@pytest.mark.parametrize("kind", ["missing", "not a generator"])
def test_a_missing_or_wrong_teacher_is_one_clear_error_and_no_run_folder(setup, kind):
    tmp, _, ck, _ = setup
    teacher = tmp / "absent.pth"
    if kind == "not a generator":
        teacher = tmp / "latest_net_D_A.pth"
        atomic_save({"model.0.weight": torch.zeros(8, 3, 4, 4)}, teacher)
    code, out, err = run_distill("--teacher", teacher, "--dataroot", tmp / "data", "--name", "bad",
                                 "--checkpoints_dir", ck, "--n_iters", 2, *FLAGS)
    assert code == 1 and err.startswith("error: --teacher") and str(teacher) in err
    assert "latest_net_G_B.pth" in err  # says what to give instead
    assert ("no such file" in err) == (kind == "missing")
    assert not (ck / "bad").exists()


@pytest.mark.slow  # the module fixture distils a student end to end
def test_perceptual_term_is_logged_and_the_final_c2st_runs_with_enough_held_out_images(setup, vgg_weights_file):
    tmp, teacher, ck, _ = setup
    make_images(tmp / "heldout10", 10, seed=3)
    code, out, err = run_distill("--teacher", teacher, "--dataroot", tmp / "data", "--name", "perc",
                                 "--checkpoints_dir", ck, "--n_iters", 5, "--lambda_perc", "0.5",
                                 "--vgg_weights", vgg_weights_file, *FLAGS, "--eval_freq", "0",
                                 "--eval_dir", tmp / "heldout10", "--c2st_repeats", 2)
    assert code == 0, out + err
    history = load_checked(ck / "perc" / "latest_state.pth")["counters"]["history"]
    assert history["perc"] and history["perc"][-1] > 0
    assert history["total"][-1] > history["l1"][-1]  # the perceptual term is in the total
    rows = [json.loads(line) for line in (ck / "perc" / "distill_eval.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [0, 5, 5] and 0 <= rows[-1]["c2st_vs_teacher"] <= 1, rows
    assert "C2ST student vs teacher" in out and "mean of 2 repeats" in out and rows[-1]["c2st_repeats"] == 2


@pytest.mark.slow  # the module fixture distils a student end to end
def test_benchmark_reports_both_models_and_the_ratio(setup):
    tmp, teacher, ck, _ = setup
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert benchmark_cli.main(["distill", "--teacher", str(teacher), "--student", str(ck / "student"),
                                   "--size", "32", "--frame", "48x32", "--repeats", "1", "--warmup", "0",
                                   "--precisions", "fp32"]) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["role"] for r in rows] == ["teacher", "student", "ratio"]
    teacher_row, student_row, ratio = rows
    assert 0 < student_row["gmacs"] < teacher_row["gmacs"] and student_row["frames_per_s"] > 0
    assert ratio["macs_ratio"] == pytest.approx(teacher_row["gmacs"] / student_row["gmacs"], rel=0.01)
    assert "Xeon" in err.getvalue() or "cores" in err.getvalue()  # names the CPU


@pytest.mark.slow  # distils with both extra terms, twice, and resumes
def test_feature_and_gan_terms_train_log_and_resume_bitwise(setup):
    tmp, teacher, ck, _ = setup
    make_images(tmp / "data" / "trainA", 5, seed=4)  # the teacher's output domain: the discriminator's reals
    common = ["--teacher", teacher, "--dataroot", tmp / "data", "--checkpoints_dir", ck, *FLAGS,
              "--lambda_feat", "1", "--lambda_gan", "0.5", "--ndf", "4"]
    code, out, err = run_distill(*common, "--name", "both_whole", "--n_iters", 20)
    assert code == 0, out + err
    assert "+ 1 x features + 0.5 x GAN (5 real images in" in out
    state = load_checked(ck / "both_whole" / "latest_state.pth")
    assert set(state["nets"]) == {"G", "feature_maps", "D"} and set(state["optimizers"]) == {"G", "D"}
    # one 1x1 map per point, from the student's 4 * ngf channels to the teacher's 4 * 8
    maps = {k: v.shape for k, v in state["nets"]["feature_maps"].items() if k.endswith("weight")}
    assert len(maps) == 4 and all(s == (32, 32, 1, 1) for s in maps.values()), maps
    history = state["counters"]["history"]
    assert all(history[k] and all(v == v and v >= 0 for v in history[k]) for k in ("feat", "G_gan", "D"))
    assert history["total"][-1] > history["l1"][-1]
    # the student's weight file is still an ordinary generator: no maps, no discriminator in it
    assert identify(torch.load(ck / "both_whole" / "latest_net_G.pth", weights_only=True), "s.pth")["netG"] == \
        "mobile_resnet_9blocks"
    assert run_distill(*common, "--name", "both_split", "--n_iters", 10)[0] == 0
    code, out, err = run_distill(*common, "--name", "both_split", "--n_iters", 20, "--continue_train")
    assert code == 0 and "at iteration 10" in out, out + err
    a, b = (load_checked(ck / n / "latest_state.pth")["nets"] for n in ("both_whole", "both_split"))
    for net in ("G", "feature_maps", "D"):
        assert all(torch.equal(a[net][k], b[net][k]) for k in a[net]), net
    # a resume cannot drop the discriminator the run holds
    with pytest.raises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()) as err:
        distill_cli.main([str(x) for x in (*common[:-4], "--lambda_feat", "1", "--name", "both_split",
                                           "--n_iters", 30, "--continue_train")])
    assert e.value.code == 2 and "--lambda_gan 0 (the run has 0.5)" in err.getvalue()


def test_feature_distillation_refuses_a_teacher_without_residual_blocks(tmp_path):
    from cyclegan.distillation.features import feature_indices
    from cyclegan.errors import UserError
    with pytest.raises(UserError, match="--lambda_feat: the teacher is not a ResNet-layout"):
        feature_indices(define_G(3, 3, 8, "unet_128", "instance"), "teacher")
    # a 9-block teacher and a 3-block student are matched at the same relative depths
    t = feature_indices(define_G(3, 3, 8, "resnet_9blocks", "instance"), "teacher")
    s = feature_indices(define_G(3, 3, 8, "mobile_resnet_3blocks", "instance"), "student")
    assert t == {"down": 9, "blocks_1/3": 12, "blocks_2/3": 15, "blocks": 18}  # GAN Compression's model.9/12/15/18
    assert s == {"down": 9, "blocks_1/3": 10, "blocks_2/3": 11, "blocks": 12}


def test_gan_term_without_real_images_is_a_flag_error(tmp_path):
    make_images(tmp_path / "data" / "trainB", 2, seed=1)
    with pytest.raises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()) as err:
        distill_cli.main(["--teacher", str(tmp_path / "t.pth"), "--dataroot", str(tmp_path / "data"), "--name", "x",
                          "--checkpoints_dir", str(tmp_path / "ck"), "--lambda_gan", "1"])
    assert e.value.code == 2 and "trainA is not a folder; pass --real_dir DIR" in err.getvalue()
    assert not (tmp_path / "ck" / "x").exists()


@pytest.mark.slow  # torch.compile builds both nets
def test_benchmark_times_compiled_nets_and_refuses_compile_without_warmup(setup):
    tmp, teacher, ck, _ = setup
    argv = ["distill", "--teacher", str(teacher), "--student", str(ck / "student"), "--size", "32",
            "--frame", "48x32", "--repeats", "1", "--precisions", "fp32", "--compile"]
    with pytest.raises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()) as err:
        benchmark_cli.main(argv + ["--warmup", "0"])
    assert e.value.code == 2 and "--compile needs --warmup 1" in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert benchmark_cli.main(argv + ["--warmup", "1"]) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r.get("compiled") for r in rows] == [True, True, None] and rows[1]["frames_per_s"] > 0
    assert "compiled (torch.compile)" in err.getvalue()


@pytest.mark.slow  # distils, then three C2STs
def test_final_scores_against_real_images_and_the_run_page(setup):
    tmp, teacher, ck, _ = setup
    make_images(tmp / "photos10", 10, seed=5)
    make_images(tmp / "paintings10", 10, seed=6)
    code, out, err = run_distill("--teacher", teacher, "--dataroot", tmp / "data", "--name", "scored",
                                 "--checkpoints_dir", ck, "--n_iters", 5, *FLAGS, "--eval_freq", "0",
                                 "--eval_dir", tmp / "photos10", "--real_eval_dir", tmp / "paintings10")
    assert code == 0, out + err
    last = [json.loads(line) for line in (ck / "scored" / "distill_eval.jsonl").read_text().splitlines()][-1]
    assert last["iteration"] == 5 and 0 <= last["c2st_vs_real_student"] <= 1 and 0 <= last["c2st_vs_real_teacher"] <= 1
    assert f"C2ST against real images: student {last['c2st_vs_real_student']:.3f}" in out
    web = ck / "scored" / "web"
    page = (web / "index.html").read_text()
    assert "Final scores" in page and "c2st_vs_real_teacher" in page and "Held-out L1 to the teacher" in page
    for name in ("heldout0_input.png", "heldout0_teacher.png", "iter0000005_heldout0.png", "iter0000005_heldout3.png"):
        assert (web / "images" / name).is_file(), name
    assert "iter0000005_heldout0.png" in page


def test_resuming_a_one_net_run_without_a_checkpoint_is_one_clear_error(tmp_path):
    """The loops' own guard (cyclegan-distill's options catch it earlier; the Python API reaches this)."""
    from cyclegan.errors import MissingFileError
    from cyclegan.runs.checkpoint import OneNetRun, resume_required
    net = define_G(3, 3, 4, "mobile_resnet_3blocks", "instance")
    run = OneNetRun(str(tmp_path), "G", net, torch.optim.Adam(net.parameters()))
    with pytest.raises(MissingFileError, match=f"--continue_train: no checkpoint in {tmp_path} to resume from"):
        resume_required(run, str(tmp_path), log=print)
