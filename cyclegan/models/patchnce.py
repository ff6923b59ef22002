"""PatchNCE (Park et al. 2020): the contrastive loss of CUT. Each sampled patch feature of the output (query)
must pick the feature of the same position of the input (positive) out of the other sampled positions of the
same image (negatives; of the whole minibatch with --nce_includes_all_negatives_from_minibatch), at temperature
--nce_T. The math is the CUT code's models/patchnce.py.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class PatchNCELoss(nn.Module):
    def __init__(self, nce_T=0.07, all_negatives_from_minibatch=False):
        super().__init__()
        self.nce_T, self.all_negatives = nce_T, all_negatives_from_minibatch

    def forward(self, feat_q, feat_k, batch_size):
        """feat_q, feat_k: (batch_size * patches, dim), L2-normalised; returns the per-patch loss (not reduced).
        batch_size: images in the minibatch (the CUT code reads --batch_size; a short last batch needs the
        real count)."""
        n, dim = feat_q.shape
        feat_k = feat_k.detach()
        l_pos = torch.bmm(feat_q.view(n, 1, -1), feat_k.view(n, -1, 1)).view(n, 1)
        groups = 1 if self.all_negatives else batch_size
        q, k = feat_q.view(groups, -1, dim), feat_k.view(groups, -1, dim)
        patches = q.shape[1]
        l_neg = torch.bmm(q, k.transpose(2, 1))
        # the diagonal is each query against its own positive: filled with -10 (exp(-10) ~ 0), as the CUT code
        diagonal = torch.eye(patches, device=feat_q.device, dtype=torch.bool)[None]
        l_neg = l_neg.masked_fill(diagonal, -10.0).view(-1, patches)
        logits = torch.cat((l_pos, l_neg), dim=1) / self.nce_T
        return F.cross_entropy(logits, torch.zeros(n, dtype=torch.long, device=feat_q.device), reduction="none")
