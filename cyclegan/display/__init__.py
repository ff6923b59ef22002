"""Everything the user sees while a run goes: progress bars, the loss log, the visdom view and the HTML pages
(CycleGAN training's and fast NST's).

Import the pieces from their modules (`cyclegan.display.progress`, `cyclegan.display.visualizer`)
so that importing this package stays cheap and never pulls in visdom.
"""
