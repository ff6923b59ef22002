"""A transcription of the CUT code's generator and PatchNCE loss (taesungp/contrastive-unpaired-translation,
models/networks.py: get_filter, Downsample, Upsample, get_pad_layer, ResnetGenerator, ResnetBlock;
models/patchnce.py), kept to its module structure and forward math, for tests only: it makes state dicts with
the CUT code's exact keys (no CUT weights can be downloaded here) and reference outputs to compare with.
"""
import functools

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def get_filter(filt_size=3):
    a = {1: [1.], 2: [1., 1.], 3: [1., 2., 1.], 4: [1., 3., 3., 1.], 5: [1., 4., 6., 4., 1.]}[filt_size]
    a = np.array(a)
    filt = torch.Tensor(a[:, None] * a[None, :])
    return filt / torch.sum(filt)


def get_pad_layer(pad_type):
    return {"refl": nn.ReflectionPad2d, "reflect": nn.ReflectionPad2d, "repl": nn.ReplicationPad2d,
            "replicate": nn.ReplicationPad2d, "zero": nn.ZeroPad2d}[pad_type]


class Downsample(nn.Module):
    def __init__(self, channels, pad_type='reflect', filt_size=3, stride=2, pad_off=0):
        super().__init__()
        self.filt_size = filt_size
        self.pad_off = pad_off
        self.pad_sizes = [int(1. * (filt_size - 1) / 2), int(np.ceil(1. * (filt_size - 1) / 2)),
                          int(1. * (filt_size - 1) / 2), int(np.ceil(1. * (filt_size - 1) / 2))]
        self.pad_sizes = [pad_size + pad_off for pad_size in self.pad_sizes]
        self.stride = stride
        self.off = int((self.stride - 1) / 2.)
        self.channels = channels
        filt = get_filter(filt_size=self.filt_size)
        self.register_buffer('filt', filt[None, None, :, :].repeat((self.channels, 1, 1, 1)))
        self.pad = get_pad_layer(pad_type)(self.pad_sizes)

    def forward(self, inp):
        if self.filt_size == 1:
            return inp[:, :, ::self.stride, ::self.stride]
        return F.conv2d(self.pad(inp), self.filt, stride=self.stride, groups=inp.shape[1])


class Upsample(nn.Module):
    def __init__(self, channels, pad_type='repl', filt_size=4, stride=2):
        super().__init__()
        self.filt_size = filt_size
        self.filt_odd = np.mod(filt_size, 2) == 1
        self.pad_size = int((filt_size - 1) / 2)
        self.stride = stride
        self.off = int((self.stride - 1) / 2.)
        self.channels = channels
        filt = get_filter(filt_size=self.filt_size) * (stride ** 2)
        self.register_buffer('filt', filt[None, None, :, :].repeat((self.channels, 1, 1, 1)))
        self.pad = get_pad_layer(pad_type)([1, 1, 1, 1])

    def forward(self, inp):
        ret_val = F.conv_transpose2d(self.pad(inp), self.filt, stride=self.stride, padding=1 + self.pad_size,
                                     groups=inp.shape[1])[:, :, 1:, 1:]
        return ret_val if self.filt_odd else ret_val[:, :, :-1, :-1]


class Identity(nn.Module):
    def forward(self, x):
        return x


def get_norm_layer(norm_type='instance'):
    if norm_type == 'batch':
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == 'instance':
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    return lambda x: Identity()


class ResnetBlock(nn.Module):
    def __init__(self, dim, padding_type, norm_layer, use_dropout, use_bias):
        super().__init__()
        conv_block = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias),
                      norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            conv_block += [nn.Dropout(0.5)]
        conv_block += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias),
                       norm_layer(dim)]
        self.conv_block = nn.Sequential(*conv_block)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False, n_blocks=6,
                 padding_type='reflect', no_antialias=False, no_antialias_up=False):
        super().__init__()
        if type(norm_layer) == functools.partial:
            use_bias = norm_layer.func == nn.InstanceNorm2d
        else:
            use_bias = norm_layer == nn.InstanceNorm2d
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
                 norm_layer(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            if no_antialias:
                model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                          norm_layer(ngf * mult * 2), nn.ReLU(True)]
            else:
                model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=1, padding=1, bias=use_bias),
                          norm_layer(ngf * mult * 2), nn.ReLU(True), Downsample(ngf * mult * 2)]
        mult = 4
        for i in range(n_blocks):
            model += [ResnetBlock(ngf * mult, padding_type=padding_type, norm_layer=norm_layer,
                                  use_dropout=use_dropout, use_bias=use_bias)]
        for i in range(2):
            mult = 2 ** (2 - i)
            if no_antialias_up:
                model += [nn.ConvTranspose2d(ngf * mult, int(ngf * mult / 2), kernel_size=3, stride=2, padding=1,
                                             output_padding=1, bias=use_bias),
                          norm_layer(int(ngf * mult / 2)), nn.ReLU(True)]
            else:
                model += [Upsample(ngf * mult),
                          nn.Conv2d(ngf * mult, int(ngf * mult / 2), kernel_size=3, stride=1, padding=1,
                                    bias=use_bias),
                          norm_layer(int(ngf * mult / 2)), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, input, layers=[], encode_only=False):
        if len(layers) > 0:
            feat, feats = input, []
            for layer_id, layer in enumerate(self.model):
                feat = layer(feat)
                if layer_id in layers:
                    feats.append(feat)
                if layer_id == layers[-1] and encode_only:
                    return feats
            return feat, feats
        return self.model(input)


def reference_generator(netG="resnet_9blocks", ngf=8, norm="instance", no_antialias=False, no_antialias_up=False,
                        seed=0):
    """The CUT code's generator with random weights (every parameter N(0, 0.2), batch-norm statistics random)."""
    n_blocks = {"resnet_9blocks": 9, "resnet_6blocks": 6, "resnet_4blocks": 4}[netG]
    net = ResnetGenerator(3, 3, ngf, get_norm_layer(norm), False, n_blocks, no_antialias=no_antialias,
                          no_antialias_up=no_antialias_up)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
        for name, b in net.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
    return net.eval()


def reference_patchnce(feat_q, feat_k, batch_size, nce_T=0.07, all_negatives=False):
    """models/patchnce.py's PatchNCELoss.forward, with its options as arguments."""
    num_patches, dim = feat_q.shape
    feat_k = feat_k.detach()
    l_pos = torch.bmm(feat_q.view(num_patches, 1, -1), feat_k.view(num_patches, -1, 1)).view(num_patches, 1)
    batch_dim_for_bmm = 1 if all_negatives else batch_size
    feat_q = feat_q.view(batch_dim_for_bmm, -1, dim)
    feat_k = feat_k.view(batch_dim_for_bmm, -1, dim)
    npatches = feat_q.size(1)
    l_neg_curbatch = torch.bmm(feat_q, feat_k.transpose(2, 1))
    diagonal = torch.eye(npatches, device=feat_q.device, dtype=torch.bool)[None, :, :]
    l_neg_curbatch.masked_fill_(diagonal, -10.0)
    l_neg = l_neg_curbatch.view(-1, npatches)
    out = torch.cat((l_pos, l_neg), dim=1) / nce_T
    return torch.nn.CrossEntropyLoss(reduction='none')(out, torch.zeros(out.size(0), dtype=torch.long))


class NLayerDiscriminator(nn.Module):
    """The CUT code's PatchGAN with its anti-aliased downsampling."""

    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d, no_antialias=False):
        super().__init__()
        if type(norm_layer) == functools.partial:
            use_bias = norm_layer.func == nn.InstanceNorm2d
        else:
            use_bias = norm_layer == nn.InstanceNorm2d
        kw, padw = 4, 1
        if no_antialias:
            sequence = [nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw), nn.LeakyReLU(0.2, True)]
        else:
            sequence = [nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=1, padding=padw), nn.LeakyReLU(0.2, True),
                        Downsample(ndf)]
        nf_mult = 1
        for n in range(1, n_layers):
            nf_mult_prev = nf_mult
            nf_mult = min(2 ** n, 8)
            if no_antialias:
                sequence += [nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, kernel_size=kw, stride=2, padding=padw,
                                       bias=use_bias), norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
            else:
                sequence += [nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, kernel_size=kw, stride=1, padding=padw,
                                       bias=use_bias), norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True),
                             Downsample(ndf * nf_mult)]
        nf_mult_prev = nf_mult
        nf_mult = min(2 ** n_layers, 8)
        sequence += [nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, kernel_size=kw, stride=1, padding=padw,
                               bias=use_bias), norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
        sequence += [nn.Conv2d(ndf * nf_mult, 1, kernel_size=kw, stride=1, padding=padw)]
        self.model = nn.Sequential(*sequence)

    def forward(self, input):
        return self.model(input)


class Normalize(nn.Module):
    def __init__(self, power=2):
        super().__init__()
        self.power = power

    def forward(self, x):
        norm = x.pow(self.power).sum(1, keepdim=True).pow(1. / self.power)
        return x.div(norm + 1e-7)


class PatchSampleF(nn.Module):
    """The CUT code's sampler; its MLPs (created on the first forward there) are created here from `channels`,
    with the same structure and names, so weights can be copied in."""

    def __init__(self, channels, nc=256):
        super().__init__()
        self.l2norm = Normalize(2)
        self.nc = nc
        for mlp_id, input_nc in enumerate(channels):
            setattr(self, 'mlp_%d' % mlp_id,
                    nn.Sequential(*[nn.Linear(input_nc, self.nc), nn.ReLU(), nn.Linear(self.nc, self.nc)]))

    def forward(self, feats, num_patches=64, patch_ids=None):
        return_ids, return_feats = [], []
        for feat_id, feat in enumerate(feats):
            feat_reshape = feat.permute(0, 2, 3, 1).flatten(1, 2)
            if patch_ids is not None:
                patch_id = patch_ids[feat_id]
            else:
                patch_id = np.random.permutation(feat_reshape.shape[1])
                patch_id = patch_id[:int(min(num_patches, patch_id.shape[0]))]
            patch_id = torch.as_tensor(patch_id, dtype=torch.long, device=feat.device)  # the CUT code: torch.tensor
            x_sample = feat_reshape[:, patch_id, :].flatten(0, 1)
            x_sample = getattr(self, 'mlp_%d' % feat_id)(x_sample)
            return_ids.append(patch_id)
            return_feats.append(self.l2norm(x_sample))
        return return_feats, return_ids


class CUTStep:
    """models/cut_model.py's CUTModel.optimize_parameters (lsgan, mlp_sample) around given G, D, F."""

    def __init__(self, G, D, F, opt):
        self.netG, self.netD, self.netF, self.opt = G, D, F, opt
        self.nce_layers = [int(i) for i in opt["nce_layers"].split(',')]
        self.mse = nn.MSELoss()
        self.optimizer_G = torch.optim.Adam(G.parameters(), lr=opt["lr"], betas=(opt["beta1"], 0.999))
        self.optimizer_D = torch.optim.Adam(D.parameters(), lr=opt["lr"], betas=(opt["beta1"], 0.999))
        self.optimizer_F = torch.optim.Adam(F.parameters(), lr=opt["lr"], betas=(opt["beta1"], 0.999))

    def gan(self, pred, real):
        return self.mse(pred, torch.full_like(pred, 1.0 if real else 0.0))

    def calculate_NCE_loss(self, src, tgt):
        feat_q = self.netG(tgt, self.nce_layers, encode_only=True)
        if self.opt["flip_equivariance"] and self.flipped_for_equivariance:
            feat_q = [torch.flip(fq, [3]) for fq in feat_q]
        feat_k = self.netG(src, self.nce_layers, encode_only=True)
        feat_k_pool, sample_ids = self.netF(feat_k, self.opt["num_patches"], None)
        feat_q_pool, _ = self.netF(feat_q, self.opt["num_patches"], sample_ids)
        total = 0.0
        for f_q, f_k in zip(feat_q_pool, feat_k_pool):
            loss = reference_patchnce(f_q, f_k, self.opt["batch_size"], self.opt["nce_T"]) * self.opt["lambda_NCE"]
            total += loss.mean()
        return total / len(self.nce_layers)

    def step(self, real_A, real_B):
        o = self.opt
        real = torch.cat((real_A, real_B), dim=0) if o["nce_idt"] else real_A
        self.flipped_for_equivariance = False
        if o["flip_equivariance"]:
            self.flipped_for_equivariance = np.random.random() < 0.5
            if self.flipped_for_equivariance:
                real = torch.flip(real, [3])
        fake = self.netG(real)
        fake_B = fake[:real_A.size(0)]
        idt_B = fake[real_A.size(0):] if o["nce_idt"] else None
        for p in self.netD.parameters():
            p.requires_grad = True
        self.optimizer_D.zero_grad()
        loss_D = (self.gan(self.netD(fake_B.detach()), False).mean() + self.gan(self.netD(real_B), True).mean()) * 0.5
        loss_D.backward()
        self.optimizer_D.step()
        for p in self.netD.parameters():
            p.requires_grad = False
        self.optimizer_G.zero_grad()
        self.optimizer_F.zero_grad()
        loss_G_GAN = self.gan(self.netD(fake_B), True).mean() * o["lambda_GAN"]
        loss_NCE = self.calculate_NCE_loss(real_A, fake_B)
        if o["nce_idt"]:
            loss_NCE_both = (loss_NCE + self.calculate_NCE_loss(real_B, idt_B)) * 0.5
        else:
            loss_NCE_both = loss_NCE
        loss_G = loss_G_GAN + loss_NCE_both
        loss_G.backward()
        self.optimizer_G.step()
        self.optimizer_F.step()
        return {"D": float(loss_D), "G": float(loss_G), "NCE": float(loss_NCE)}
