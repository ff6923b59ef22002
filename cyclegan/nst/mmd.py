"""Memory-bounded Gaussian kernel sums for the mmd_gauss style loss.

gauss_kernel_sum(x, y, a, b, gamma) = sum_k a_k^T K_k b_k with K_k[i, j] = exp(-gamma |x_ki - y_kj|^2).
A plain autograd graph would keep every (n x m) kernel block alive until backward, which at
512 px means gigabytes. Here forward and backward both walk over chunks of at most
`chunk_elements` kernel entries and backward recomputes each chunk, so the extra memory is one
chunk however large the image is.
"""
import torch


def _chunks(batches, n, m, budget):
    """(batch slice, row slice) pairs covering a (batches, n, m) kernel in blocks of <= budget entries."""
    if n * m <= budget:
        step = max(1, budget // (n * m))
        for b0 in range(0, batches, step):
            yield slice(b0, b0 + step), slice(0, n)
    else:
        rows = max(1, budget // m)
        for b0 in range(batches):
            for r0 in range(0, n, rows):
                yield slice(b0, b0 + 1), slice(r0, r0 + rows)


def _kernel(xc, yc, xn, yn, gamma):
    """exp(-gamma |x - y|^2) for a chunk, built in place to hold only one chunk-sized buffer."""
    d = torch.baddbmm(xn.unsqueeze(-1) + yn.unsqueeze(1), xc, yc.transpose(1, 2), beta=1, alpha=-2)
    return d.clamp_min_(0).mul_(-gamma).exp_()


def _sum(x, y, a, b, gamma, budget):
    xn, yn = x.pow(2).sum(-1), y.pow(2).sum(-1)
    total = x.new_zeros((), dtype=torch.float64)
    for bs, rs in _chunks(x.shape[0], x.shape[1], y.shape[1], budget):
        k = _kernel(x[bs, rs], y[bs], xn[bs, rs], yn[bs], gamma)
        total += (a[bs, rs].unsqueeze(1) @ (k @ b[bs].unsqueeze(-1))).sum().double()
    return total.to(x.dtype)


class _GaussKernelSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, a, b, gamma, budget):
        ctx.save_for_backward(x, y, a, b)
        ctx.gamma, ctx.budget = gamma, budget
        return _sum(x, y, a, b, gamma, budget)

    @staticmethod
    def backward(ctx, grad):
        x, y, a, b = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        gx = torch.zeros_like(x) if need_x else None
        gy = torch.zeros_like(y) if need_y else None
        xn, yn = x.pow(2).sum(-1), y.pow(2).sum(-1)
        scale = -2 * ctx.gamma * grad
        for bs, rs in _chunks(x.shape[0], x.shape[1], y.shape[1], ctx.budget):
            xc, yc = x[bs, rs], y[bs]
            # w_ij = a_i b_j k_ij; d/dx_i = -2 gamma sum_j w_ij (x_i - y_j), symmetric for y_j.
            w = _kernel(xc, yc, xn[bs, rs], yn[bs], ctx.gamma)
            w.mul_(a[bs, rs].unsqueeze(-1)).mul_(b[bs].unsqueeze(1))
            if need_x:
                gx[bs, rs] = scale * (xc * w.sum(-1, keepdim=True) - w @ yc)
            if need_y:
                gy[bs] += scale * (yc * w.sum(1).unsqueeze(-1) - w.transpose(1, 2) @ xc)
        return gx, gy, None, None, None, None


class _SymmetricGaussKernelSum(torch.autograd.Function):
    """a^T K(x, x) a: K is symmetric, so the gradient is twice the one-sided one (half the work)."""

    @staticmethod
    def forward(ctx, x, a, gamma, budget):
        ctx.save_for_backward(x, a)
        ctx.gamma, ctx.budget = gamma, budget
        return _sum(x, x, a, a, gamma, budget)

    @staticmethod
    def backward(ctx, grad):
        x, a = ctx.saved_tensors
        gx = torch.zeros_like(x)
        xn = x.pow(2).sum(-1)
        scale = -4 * ctx.gamma * grad
        for bs, rs in _chunks(x.shape[0], x.shape[1], x.shape[1], ctx.budget):
            xc = x[bs, rs]
            w = _kernel(xc, x[bs], xn[bs, rs], xn[bs], ctx.gamma).mul_(a[bs].unsqueeze(1))
            gx[bs, rs] = (scale * a[bs, rs].unsqueeze(-1)) * (xc * w.sum(-1, keepdim=True) - w @ x[bs])
        return gx, None, None, None


def gauss_kernel_sum(x, y, a, b, gamma, chunk_elements=1 << 22):
    """sum over k, i, j of a[k,i] b[k,j] exp(-gamma |x[k,i] - y[k,j]|^2), for x (B,n,C), y (B,m,C).

    Differentiable in x and y (pass the same tensor and weights twice for an x-x sum, which then
    takes a cheaper symmetric path); a and b are constants.
    """
    if x.dim() != 3 or y.dim() != 3 or x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
        raise ValueError(f"gauss_kernel_sum needs x (B, n, C) and y (B, m, C), got {tuple(x.shape)} and {tuple(y.shape)}")
    if y is x and b is a:
        return _SymmetricGaussKernelSum.apply(x, a.detach(), float(gamma), int(chunk_elements))
    return _GaussKernelSum.apply(x, y, a.detach(), b.detach(), float(gamma), int(chunk_elements))


def gauss_kernel_sum_dense(x, y, a, b, gamma):
    """The same sum with one dense kernel matrix and ordinary autograd (reference for tests)."""
    k = torch.exp(-gamma * torch.cdist(x, y).pow(2))
    return (a.unsqueeze(1) @ k @ b.unsqueeze(-1)).sum()
