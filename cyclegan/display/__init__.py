"""Everything the user sees while a run goes: progress bars, the loss log, the HTML pages (CycleGAN training's and
fast NST's), and the training display's sinks (the page, visdom, Weights & Biases, TensorBoard) behind one
Visualizer.

Import the pieces from their modules (`cyclegan.display.progress`, `cyclegan.display.visualizer`)
so that importing this package stays cheap and never pulls in visdom, wandb or tensorboard.
"""
