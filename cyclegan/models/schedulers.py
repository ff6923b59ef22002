"""Learning-rate schedules: linear (official default), step, plateau and cosine."""
from torch.optim import lr_scheduler

LR_POLICIES = ("linear", "step", "plateau", "cosine")


def linear_factor(step, n_constant, n_decay):
    """The official linear rule: the rate's factor for step `step` (1-based epoch, or iteration), 1 for the first
    n_constant steps, then falling by 1 / (n_decay + 1) a step, so the last of the n_decay steps keeps that much."""
    return 1.0 - max(0, step - n_constant) / float(n_decay + 1)


def get_scheduler(optimizer, lr_policy, epoch_count=1, n_epochs=100, n_epochs_decay=100, lr_decay_iters=50):
    """Return the scheduler; it is stepped once per epoch, after the optimizer steps of that epoch.

    linear keeps the lr for n_epochs then decays it linearly to zero over n_epochs_decay, counting
    from epoch_count, exactly as the official lambda rule.
    """
    if lr_policy == "linear":
        def rule(k):
            return linear_factor(k + epoch_count, n_epochs, n_epochs_decay)
        return lr_scheduler.LambdaLR(optimizer, lr_lambda=rule)
    if lr_policy == "step":
        return lr_scheduler.StepLR(optimizer, step_size=lr_decay_iters, gamma=0.1)
    if lr_policy == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.2, threshold=0.01, patience=5)
    if lr_policy == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=n_epochs, eta_min=0)
    raise ValueError(f"--lr_policy {lr_policy!r} is not one of: {', '.join(LR_POLICIES)}")
